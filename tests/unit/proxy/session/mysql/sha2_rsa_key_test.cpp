#include "proxy/session/mysql/sha2_rsa_key.h"

#include <gtest/gtest.h>
#include <openssl/err.h>

#include <memory>
#include <string>

namespace sy::proxy {
namespace {

std::string client_answer(const std::string& pem, const std::string& password, const std::string& nonce) {
  auto answer = sha2_encrypt_password(pem, password + '\0', nonce);
  EXPECT_TRUE(answer);
  return answer.value_or("");
}

const std::string kNonce = "abcdefghijklmnopqrst";

TEST(Sha2RsaKey, RecoversThePasswordTheClientEncrypted) {
  auto key = Sha2RsaKey::generate();
  EXPECT_TRUE(key->public_pem().starts_with("-----BEGIN PUBLIC KEY-----"));
  auto password = key->decrypt_password(client_answer(key->public_pem(), "a rather long passphrase", kNonce), kNonce);
  ASSERT_TRUE(password);
  EXPECT_EQ(*password, std::string("a rather long passphrase") + '\0');
}

TEST(Sha2RsaKey, AnAnswerForAnotherKeyIsRefusedAndLeavesNoOpenSslError) {
  auto ours = Sha2RsaKey::generate();
  auto theirs = Sha2RsaKey::generate();
  EXPECT_FALSE(ours->decrypt_password(client_answer(theirs->public_pem(), "secret", kNonce), kNonce));
  EXPECT_FALSE(ours->decrypt_password("\x02", kNonce));
  EXPECT_EQ(ERR_peek_error(), 0u);  // a stale error would fail the next TLS call on this thread
}

TEST(Sha2EncryptPassword, RefusesSomethingThatIsNotAPublicKey) {
  EXPECT_FALSE(sha2_encrypt_password("not a key", std::string("secret") + '\0', kNonce));
  EXPECT_EQ(ERR_peek_error(), 0u);
}

}  // namespace
}  // namespace sy::proxy
