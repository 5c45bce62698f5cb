#include "proxy/session/mysql/sha2_rsa_key.h"

#include <openssl/bio.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>

#include <stdexcept>

namespace sy::proxy {

namespace {

// The password travels XORed with the login nonce, repeated, inside the RSA block.
void xor_with_nonce(std::string& bytes, std::string_view nonce) {
  for (size_t i = 0; i < bytes.size(); ++i) bytes[i] = static_cast<char>(bytes[i] ^ nonce[i % nonce.size()]);
}

}  // namespace

std::shared_ptr<const Sha2RsaKey> Sha2RsaKey::generate() {
  EVP_PKEY* key = EVP_RSA_gen(2048);
  if (!key) throw std::runtime_error("cannot generate the caching_sha2_password RSA key");
  return std::shared_ptr<const Sha2RsaKey>(new Sha2RsaKey(key));
}

Sha2RsaKey::Sha2RsaKey(EVP_PKEY* key) : key_(key) {
  BIO* bio = BIO_new(BIO_s_mem());
  if (!bio || PEM_write_bio_PUBKEY(bio, key_) != 1) {
    BIO_free(bio);
    EVP_PKEY_free(key_);
    throw std::runtime_error("cannot encode the caching_sha2_password RSA key");
  }
  char* data = nullptr;
  long n = BIO_get_mem_data(bio, &data);
  pem_.assign(data, static_cast<size_t>(n));
  BIO_free(bio);
}

Sha2RsaKey::~Sha2RsaKey() { EVP_PKEY_free(key_); }

std::optional<std::string> Sha2RsaKey::decrypt_password(std::string_view answer, std::string_view nonce) const {
  if (nonce.empty()) return std::nullopt;
  // A context per call: EVP_PKEY is shared read-only across workers.
  std::unique_ptr<EVP_PKEY_CTX, decltype(&EVP_PKEY_CTX_free)> ctx(EVP_PKEY_CTX_new(key_, nullptr), EVP_PKEY_CTX_free);
  size_t n = 0;
  auto in = reinterpret_cast<const unsigned char*>(answer.data());
  if (!ctx || EVP_PKEY_decrypt_init(ctx.get()) != 1 ||
      EVP_PKEY_CTX_set_rsa_padding(ctx.get(), RSA_PKCS1_OAEP_PADDING) != 1 ||  // OAEP's default digest is SHA-1
      EVP_PKEY_decrypt(ctx.get(), nullptr, &n, in, answer.size()) != 1) {
    ERR_clear_error();  // the queue is per thread, and asio's TLS reads it after every call
    return std::nullopt;
  }
  std::string out(n, '\0');
  if (EVP_PKEY_decrypt(ctx.get(), reinterpret_cast<unsigned char*>(out.data()), &n, in, answer.size()) != 1) {
    OPENSSL_cleanse(out.data(), out.size());
    ERR_clear_error();
    return std::nullopt;
  }
  out.resize(n);
  xor_with_nonce(out, nonce);
  return out;
}

std::optional<std::string> sha2_encrypt_password(std::string_view pem, std::string_view password,
                                                 std::string_view nonce) {
  if (nonce.empty()) return std::nullopt;
  std::unique_ptr<BIO, decltype(&BIO_free)> bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())), BIO_free);
  std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)> key(
      bio ? PEM_read_bio_PUBKEY(bio.get(), nullptr, nullptr, nullptr) : nullptr, EVP_PKEY_free);
  std::unique_ptr<EVP_PKEY_CTX, decltype(&EVP_PKEY_CTX_free)> ctx(key ? EVP_PKEY_CTX_new(key.get(), nullptr) : nullptr,
                                                                  EVP_PKEY_CTX_free);
  std::string plain(password);
  xor_with_nonce(plain, nonce);
  auto in = reinterpret_cast<const unsigned char*>(plain.data());
  size_t n = 0;
  std::optional<std::string> out;
  if (ctx && EVP_PKEY_encrypt_init(ctx.get()) == 1 &&
      EVP_PKEY_CTX_set_rsa_padding(ctx.get(), RSA_PKCS1_OAEP_PADDING) == 1 &&
      EVP_PKEY_encrypt(ctx.get(), nullptr, &n, in, plain.size()) == 1) {
    out.emplace(n, '\0');
    if (EVP_PKEY_encrypt(ctx.get(), reinterpret_cast<unsigned char*>(out->data()), &n, in, plain.size()) == 1)
      out->resize(n);
    else
      out.reset();
  }
  OPENSSL_cleanse(plain.data(), plain.size());
  if (!out) ERR_clear_error();
  return out;
}

}  // namespace sy::proxy
