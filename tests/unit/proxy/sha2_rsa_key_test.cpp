#include "proxy/sha2_rsa_key.h"

#include <gtest/gtest.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>

#include <memory>
#include <string>

namespace sy::proxy {
namespace {

//! What a MySQL client sends: (password + NUL) XOR nonce, RSA-OAEP (SHA-1) with `pem`.
std::string client_answer(const std::string& pem, std::string password, const std::string& nonce) {
  password.push_back('\0');
  for (size_t i = 0; i < password.size(); ++i) password[i] = static_cast<char>(password[i] ^ nonce[i % nonce.size()]);
  std::unique_ptr<BIO, decltype(&BIO_free)> bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())), BIO_free);
  std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)> key(PEM_read_bio_PUBKEY(bio.get(), nullptr, nullptr, nullptr),
                                                          EVP_PKEY_free);
  std::unique_ptr<EVP_PKEY_CTX, decltype(&EVP_PKEY_CTX_free)> ctx(EVP_PKEY_CTX_new(key.get(), nullptr),
                                                                  EVP_PKEY_CTX_free);
  EVP_PKEY_encrypt_init(ctx.get());
  EVP_PKEY_CTX_set_rsa_padding(ctx.get(), RSA_PKCS1_OAEP_PADDING);
  auto in = reinterpret_cast<const unsigned char*>(password.data());
  size_t n = 0;
  EVP_PKEY_encrypt(ctx.get(), nullptr, &n, in, password.size());
  std::string out(n, '\0');
  EVP_PKEY_encrypt(ctx.get(), reinterpret_cast<unsigned char*>(out.data()), &n, in, password.size());
  out.resize(n);
  return out;
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

}  // namespace
}  // namespace sy::proxy
