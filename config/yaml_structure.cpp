#include "config/yaml_structure.h"

#include <yaml-cpp/eventhandler.h>
#include <yaml-cpp/yaml.h>

#include <map>
#include <sstream>

namespace sy::config {
namespace {

// Follows the parser's events with a stack of open collections, so every node
// knows its path (["tenants", "[]", "shadow"]) when it starts.
class StructureWalker : public YAML::EventHandler {
 public:
  std::vector<ConfigError> errors;
  int documents() const { return documents_; }

  void OnDocumentStart(const YAML::Mark& mark) override {
    if (++documents_ == 2)
      errors.push_back({mark.line + 1, "",
                        "a second YAML document: switchyard reads one document per file, so everything after "
                        "`---` would be ignored"});
  }
  void OnDocumentEnd() override {}
  void OnNull(const YAML::Mark& mark, YAML::anchor_t anchor) override { leaf(mark, anchor, nullptr); }
  void OnScalar(const YAML::Mark& mark, const std::string&, YAML::anchor_t anchor,
                const std::string& value) override {
    leaf(mark, anchor, &value);
  }
  void OnAlias(const YAML::Mark& mark, YAML::anchor_t anchor) override {
    if (frames_.empty() || !frames_.back().expecting_key) check_alias(mark, anchor);
    leaf(mark, 0, nullptr);
  }
  void OnSequenceStart(const YAML::Mark& mark, const std::string&, YAML::anchor_t anchor,
                       YAML::EmitterStyle::value) override {
    open(mark, anchor, false);
  }
  void OnSequenceEnd() override { close(); }
  void OnMapStart(const YAML::Mark& mark, const std::string&, YAML::anchor_t anchor,
                  YAML::EmitterStyle::value) override {
    open(mark, anchor, true);
  }
  void OnMapEnd() override { close(); }

 private:
  struct Frame {
    bool is_map = false;
    bool expecting_key = true;  // maps alternate key, value
    std::string key;            // the current value's key (maps)
  };
  struct Anchor {
    std::vector<std::string> path;
    int line = 0;
  };

  std::vector<std::string> value_path() const {
    std::vector<std::string> p;
    for (const auto& f : frames_) p.push_back(f.is_map ? f.key : "[]");
    return p;
  }
  static std::string dotted(const std::vector<std::string>& p) {
    std::string s;
    for (const auto& c : p) s += c == "[]" ? c : (s.empty() ? c : "." + c);
    return s.empty() ? "(the whole file)" : s;
  }
  // Where a node could stand: its top-level section and the key it sits under.
  static std::pair<std::string, std::string> place(const std::vector<std::string>& p) {
    if (p.empty()) return {"", ""};
    return {p.front(), p.back()};
  }

  void remember(const YAML::Mark& mark, YAML::anchor_t anchor) {
    if (anchor != 0) anchors_[anchor] = Anchor{value_path(), mark.line + 1};
  }

  void check_alias(const YAML::Mark& mark, YAML::anchor_t anchor) {
    auto it = anchors_.find(anchor);
    if (it == anchors_.end()) return;  // the parser itself refuses unknown aliases
    auto here = value_path();
    if (place(here) == place(it->second.path)) return;
    errors.push_back({mark.line + 1, dotted(here),
                      "alias of the anchor at line " + std::to_string(it->second.line) + " (" +
                          dotted(it->second.path) +
                          ") stands in a different place; an alias may only repeat a setting under the same "
                          "key of the same section"});
  }

  // A scalar, null or alias: a key when its map expects one, else a value.
  void leaf(const YAML::Mark& mark, YAML::anchor_t anchor, const std::string* scalar) {
    if (!frames_.empty() && frames_.back().is_map && frames_.back().expecting_key) {
      auto& f = frames_.back();
      f.key = scalar ? *scalar : "?";
      f.expecting_key = false;
      if (scalar && *scalar == "<<")
        errors.push_back({mark.line + 1, dotted(value_path()),
                          "merge keys (<<) are not supported: yaml-cpp keeps `<<` as an ordinary key, so the "
                          "merged settings would not apply; repeat the keys or alias the whole section"});
      return;
    }
    remember(mark, anchor);
    value_done();
  }

  void open(const YAML::Mark& mark, YAML::anchor_t anchor, bool is_map) {
    if (!frames_.empty() && frames_.back().is_map && frames_.back().expecting_key) {
      // A collection as a key: nothing in switchyard's config has one; the
      // loader reports it as an unknown key. Track it as a value of key "?".
      frames_.back().key = "?";
      frames_.back().expecting_key = false;
    }
    remember(mark, anchor);
    frames_.push_back(Frame{is_map, true, ""});
  }

  void close() {
    frames_.pop_back();
    value_done();
  }

  void value_done() {
    if (!frames_.empty() && frames_.back().is_map) frames_.back().expecting_key = true;
  }

  int documents_ = 0;
  std::vector<Frame> frames_;
  std::map<YAML::anchor_t, Anchor> anchors_;
};

}  // namespace

std::vector<ConfigError> check_yaml_structure(const std::string& yaml) {
  std::istringstream in(yaml);
  YAML::Parser parser(in);
  StructureWalker walker;
  try {
    // Stop at the second document: it is an error already, and yaml-cpp 0.7
    // can loop for ever on some malformed input after the first (found by
    // fuzz_config; YAML::Load, which reads one document, is not affected).
    for (int calls = 0; calls < 3 && walker.documents() < 2 && parser.HandleNextDocument(walker); ++calls) {
    }
  } catch (const YAML::Exception& e) {
    walker.errors.push_back({e.mark.line + 1, "", e.msg});
  }
  return walker.errors;
}

void find_duplicate_keys(const YAML::Node& node, const std::string& path, std::vector<ConfigError>& errors) {
  if (node.IsSequence()) {
    for (size_t i = 0; i < node.size(); ++i) find_duplicate_keys(node[i], path + "[" + std::to_string(i) + "]", errors);
    return;
  }
  if (!node.IsMap()) return;
  std::map<std::string, int> first_line;  // key -> 1-based line of its first occurrence
  for (auto it = node.begin(); it != node.end(); ++it) {
    if (!it->first.IsScalar()) continue;
    const auto key = it->first.Scalar();
    const int line = it->first.Mark().line + 1;
    const auto child_path = path.empty() ? key : path + "." + key;
    if (auto [seen, fresh] = first_line.emplace(key, line); !fresh) {
      errors.push_back({line, child_path,
                        "duplicate key \"" + key + "\" (first at line " + std::to_string(seen->second) +
                            "); YAML would silently keep only one of them"});
      continue;
    }
    find_duplicate_keys(it->second, child_path, errors);
  }
}

}  // namespace sy::config
