#pragma once
// RSA for caching_sha2_password full authentication across a proxy that has
// TLS on one side only.
//
// Why: without TLS the client asks for the server's public key and sends its
// password encrypted with it; over TLS it sends the password in clear. When
// only the server side is encrypted, switchyard answers the key request with
// its own key (Sha2RsaKey), decrypts, and hands the password over TLS. When
// only the client side is, switchyard asks the server for its key and
// encrypts the password the client sent (sha2_encrypt_password).
#include <memory>
#include <optional>
#include <string>
#include <string_view>

struct evp_pkey_st;

namespace sy::proxy {

class Sha2RsaKey {
 public:
  //! A fresh 2048-bit key (tens of milliseconds); throws std::runtime_error.
  static std::shared_ptr<const Sha2RsaKey> generate();
  ~Sha2RsaKey();
  Sha2RsaKey(const Sha2RsaKey&) = delete;
  Sha2RsaKey& operator=(const Sha2RsaKey&) = delete;

  //! SubjectPublicKeyInfo PEM, what MySQL servers send after 0x01.
  const std::string& public_pem() const { return pem_; }

  //! The client's password (NUL included) from its RSA-OAEP (SHA-1) answer,
  //! undoing the XOR with the login nonce; nullopt if the answer was not
  //! encrypted with this key. Safe to call from any thread.
  std::optional<std::string> decrypt_password(std::string_view answer, std::string_view nonce) const;

 private:
  explicit Sha2RsaKey(evp_pkey_st* key);
  evp_pkey_st* key_;
  std::string pem_;
};

//! What a plaintext client sends: (password, NUL included) XOR nonce,
//! RSA-OAEP (SHA-1) with the server's PEM public key; nullopt if the PEM is
//! not an RSA public key.
std::optional<std::string> sha2_encrypt_password(std::string_view pem, std::string_view password,
                                                 std::string_view nonce);

}  // namespace sy::proxy
