#include "rewrite/sql_lexer.h"

#include <gtest/gtest.h>

using namespace sy::rewrite;

namespace {
std::vector<std::string> texts(std::string_view sql) {
  std::vector<std::string> out;
  for (const auto& t : lex_sql(sql)) out.emplace_back(sql.substr(t.begin, t.end - t.begin));
  return out;
}
}  // namespace

TEST(SqlLexer, SkipsCommentsAndKeepsPositions) {
  std::string sql = "UPDATE t /* a /* nested */ comment */ SET s = 'it''s' -- tail\n, x = $12;";
  EXPECT_EQ(texts(sql), (std::vector<std::string>{"UPDATE", "t", "SET", "s", "=", "'it''s'", ",", "x", "=", "$12", ";"}));
}

TEST(SqlLexer, StringForms) {
  EXPECT_EQ(texts("E'a\\'b' U&'x' X'ff' $$a ' b$$ $tag$ $$ $tag$"),
            (std::vector<std::string>{"E'a\\'b'", "U&'x'", "X'ff'", "$$a ' b$$", "$tag$ $$ $tag$"}));
  EXPECT_EQ(texts("\"Quoted \"\" id\".col"), (std::vector<std::string>{"\"Quoted \"\" id\"", ".", "col"}));
}

TEST(SqlLexer, OperatorsAndNumbers) {
  EXPECT_EQ(texts("a::text||b>=1.5e-3"), (std::vector<std::string>{"a", "::", "text", "||", "b", ">=", "1.5e-3"}));
}

TEST(SqlLexer, MysqlPlaceholdersAfterOperators) {
  // `?` is never part of a MySQL operator: `id=?` holds a placeholder.
  std::string_view sql = "SELECT 1-? FROM t WHERE id=? AND n<>?";
  std::vector<std::string> got;
  int params = 0;
  for (const auto& t : lex_sql(sql, Dialect::Mysql)) {
    got.emplace_back(sql.substr(t.begin, t.end - t.begin));
    params += t.kind == TokenKind::Param;
  }
  EXPECT_EQ(got, (std::vector<std::string>{"SELECT", "1", "-", "?", "FROM", "t", "WHERE", "id", "=", "?", "AND", "n",
                                           "<>", "?"}));
  EXPECT_EQ(params, 3);
  // PostgreSQL operators may hold `?` (jsonb's ?| and ?&).
  EXPECT_EQ(texts("a ?| b"), (std::vector<std::string>{"a", "?|", "b"}));
}

TEST(SqlLexer, UnterminatedInputRunsToTheEnd) {
  auto toks = lex_sql("SELECT 'open");
  ASSERT_EQ(toks.size(), 2u);
  EXPECT_EQ(toks[1].end, 12u);
  EXPECT_EQ(lex_sql("/* never closed").size(), 0u);
}

TEST(SqlLexer, Keywords) {
  std::string sql = "values Values VALUES";
  for (const auto& t : lex_sql(sql)) EXPECT_TRUE(is_keyword(sql, t, "VALUES"));
}
