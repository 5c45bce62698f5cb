#include "config/atomic_file.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

using namespace sy::config;
namespace fs = std::filesystem;

namespace {
struct TempDir {
  fs::path path;
  TempDir() {
    char tmpl[] = "/tmp/sy_atomic_XXXXXX";
    path = ::mkdtemp(tmpl);
  }
  ~TempDir() {
    std::error_code ec;
    fs::permissions(path, fs::perms::owner_all, ec);
    fs::remove_all(path, ec);
  }
};

std::string read(const fs::path& p) {
  std::ifstream in(p);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}
}  // namespace

TEST(AtomicFile, WritesAndReplacesLeavingNoTemporary) {
  TempDir d;
  auto target = (d.path / "flags.json").string();
  ASSERT_FALSE(write_file_atomically(target, "one\n"));
  EXPECT_EQ(read(target), "one\n");
  ASSERT_FALSE(write_file_atomically(target, "two\n"));
  EXPECT_EQ(read(target), "two\n");
  EXPECT_FALSE(fs::exists(target + ".tmp"));
}

TEST(AtomicFile, ARelativePathUsesTheWorkingDirectory) {
  TempDir d;
  auto cwd = fs::current_path();
  fs::current_path(d.path);
  auto error = write_file_atomically("progress.json", "{}");
  fs::current_path(cwd);
  ASSERT_FALSE(error) << *error;
  EXPECT_EQ(read(d.path / "progress.json"), "{}");
}

// root writes anywhere, so the permission case runs only as another user; the
// two cases after it fail the same step for every user.
TEST(AtomicFile, ADirectoryThatIsNotWritableIsAClearErrorAndTheTargetIsUnchanged) {
  TempDir d;
  auto target = (d.path / "flags.json").string();
  ASSERT_FALSE(write_file_atomically(target, "old"));
  fs::permissions(d.path, fs::perms::owner_read | fs::perms::owner_exec | fs::perms::others_read |
                              fs::perms::others_exec);
  // Root ignores directory permissions, and CI runs as root: the write is
  // tried in a child that has given root up (as nobody), and the child's
  // exit status says whether the error was the expected one.
  pid_t child = ::fork();
  ASSERT_NE(child, -1);
  if (child == 0) {
    if (::geteuid() == 0 && ::setuid(65534) != 0) ::_exit(3);
    auto error = write_file_atomically(target, "new");
    bool expected = error && error->find("cannot write " + target + ".tmp") != std::string::npos &&
                    error->find("Permission denied") != std::string::npos;
    ::_exit(expected ? 0 : 1);
  }
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0) << "1: not the expected error, 3: could not become nobody";
  fs::permissions(d.path, fs::perms::owner_all);
  EXPECT_EQ(read(target), "old");
}

TEST(AtomicFile, AMissingDirectoryIsAClearError) {
  TempDir d;
  auto target = (d.path / "no-such-dir" / "flags.json").string();
  auto error = write_file_atomically(target, "new");
  ASSERT_TRUE(error);
  EXPECT_NE(error->find("No such file or directory"), std::string::npos) << *error;
  EXPECT_FALSE(fs::exists(target));
}

TEST(AtomicFile, ATemporaryThatCannotBeCreatedLeavesTheTargetUnchanged) {
  TempDir d;
  auto target = (d.path / "flags.json").string();
  ASSERT_FALSE(write_file_atomically(target, "old"));
  fs::create_directory(target + ".tmp");  // in the way of the temporary file
  auto error = write_file_atomically(target, "new");
  ASSERT_TRUE(error);
  EXPECT_NE(error->find("cannot write " + target + ".tmp"), std::string::npos) << *error;
  EXPECT_EQ(read(target), "old");
}

TEST(AtomicFile, ATargetThatIsADirectoryIsNotReplaced) {
  TempDir d;
  auto target = (d.path / "flags.json").string();
  fs::create_directory(target);
  auto error = write_file_atomically(target, "new");
  ASSERT_TRUE(error);
  EXPECT_NE(error->find("cannot replace " + target), std::string::npos) << *error;
  EXPECT_TRUE(fs::is_directory(target));
  EXPECT_FALSE(fs::exists(target + ".tmp"));
}
