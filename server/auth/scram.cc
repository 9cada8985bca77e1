#include "server/auth/scram.h"

#include <fmt/format.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include <vector>

namespace sluice::kafka::auth {

namespace {

const EVP_MD* Digest(ScramMechanism m) {
  return m == ScramMechanism::kSha256 ? EVP_sha256() : EVP_sha512();
}

std::string Hmac(ScramMechanism m, std::string_view key, std::string_view data) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(Digest(m), key.data(), static_cast<int>(key.size()),
       reinterpret_cast<const unsigned char*>(data.data()), data.size(), out, &len);
  return std::string(reinterpret_cast<char*>(out), len);
}

std::string Hash(ScramMechanism m, std::string_view data) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(data.data(), data.size(), out, &len, Digest(m), nullptr);
  return std::string(reinterpret_cast<char*>(out), len);
}

std::string SaltedPassword(ScramMechanism m, std::string_view password, std::string_view salt,
                           int32_t iterations) {
  std::string out(static_cast<size_t>(EVP_MD_get_size(Digest(m))), '\0');
  PKCS5_PBKDF2_HMAC(password.data(), static_cast<int>(password.size()),
                    reinterpret_cast<const unsigned char*>(salt.data()),
                    static_cast<int>(salt.size()), iterations, Digest(m),
                    static_cast<int>(out.size()), reinterpret_cast<unsigned char*>(out.data()));
  return out;
}

bool ConstantTimeEqual(std::string_view a, std::string_view b) {
  return a.size() == b.size() && CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

Result<std::string> RandomBytes(size_t n) {
  std::string out(n, '\0');
  if (RAND_bytes(reinterpret_cast<unsigned char*>(out.data()), static_cast<int>(n)) != 1) {
    return Internal("RAND_bytes failed: the OpenSSL random generator is not seeded");
  }
  return out;
}

// Splits "a=x,b=y" into attributes (values may contain '=' but not ',').
std::vector<std::pair<char, std::string_view>> Attributes(std::string_view s) {
  std::vector<std::pair<char, std::string_view>> out;
  while (true) {
    size_t comma = s.find(',');
    std::string_view part = s.substr(0, comma);
    if (part.size() < 2 || part[1] != '=') return {};
    out.emplace_back(part[0], part.substr(2));
    if (comma == std::string_view::npos) break;
    s = s.substr(comma + 1);
  }
  return out;
}

// RFC 5802 saslname: "=2C" is ',' and "=3D" is '='; any other '=' is invalid.
std::optional<std::string> DecodeSaslName(std::string_view s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] != '=') {
      out += s[i];
    } else if (s.substr(i, 3) == "=2C") {
      out += ',';
      i += 2;
    } else if (s.substr(i, 3) == "=3D") {
      out += '=';
      i += 2;
    } else {
      return std::nullopt;
    }
  }
  return out;
}

Status Failed(std::string_view why) { return InvalidArgument("SCRAM: {}", why); }

}  // namespace

const char* MechanismName(ScramMechanism m) {
  return m == ScramMechanism::kSha256 ? "SCRAM-SHA-256" : "SCRAM-SHA-512";
}

std::optional<ScramMechanism> ParseScramMechanism(std::string_view name) {
  if (name == "SCRAM-SHA-256") return ScramMechanism::kSha256;
  if (name == "SCRAM-SHA-512") return ScramMechanism::kSha512;
  return std::nullopt;
}

ScramCredential DeriveScramCredential(ScramMechanism m, std::string_view password,
                                      std::string_view salt, int32_t iterations) {
  std::string salted = SaltedPassword(m, password, salt, iterations);
  ScramCredential c;
  c.salt = std::string(salt);
  c.iterations = iterations;
  c.stored_key = Hash(m, Hmac(m, salted, "Client Key"));
  c.server_key = Hmac(m, salted, "Server Key");
  return c;
}

Result<ScramCredential> MakeScramCredential(ScramMechanism m, std::string_view password,
                                            int32_t iterations) {
  SLUICE_ASSIGN_OR_RETURN(std::string salt, RandomBytes(32));
  return DeriveScramCredential(m, password, salt, iterations);
}

bool PasswordMatches(ScramMechanism m, const ScramCredential& cred, std::string_view password) {
  ScramCredential got = DeriveScramCredential(m, password, cred.salt, cred.iterations);
  return ConstantTimeEqual(got.stored_key, cred.stored_key);
}

std::string Base64Encode(std::string_view raw) {
  static const char kChars[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  size_t i = 0;
  for (; i + 2 < raw.size(); i += 3) {
    uint32_t v = (uint8_t(raw[i]) << 16) | (uint8_t(raw[i + 1]) << 8) | uint8_t(raw[i + 2]);
    out += kChars[v >> 18];
    out += kChars[(v >> 12) & 63];
    out += kChars[(v >> 6) & 63];
    out += kChars[v & 63];
  }
  if (i + 1 == raw.size()) {
    uint32_t v = uint8_t(raw[i]) << 16;
    out += kChars[v >> 18];
    out += kChars[(v >> 12) & 63];
    out += "==";
  } else if (i + 2 == raw.size()) {
    uint32_t v = (uint8_t(raw[i]) << 16) | (uint8_t(raw[i + 1]) << 8);
    out += kChars[v >> 18];
    out += kChars[(v >> 12) & 63];
    out += kChars[(v >> 6) & 63];
    out += '=';
  }
  return out;
}

std::optional<std::string> Base64Decode(std::string_view text) {
  if (text.size() % 4 != 0) return std::nullopt;
  auto value = [](char c) -> int {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+') return 62;
    if (c == '/') return 63;
    return -1;
  };
  std::string out;
  for (size_t i = 0; i < text.size(); i += 4) {
    int pad = 0;
    uint32_t v = 0;
    for (size_t j = 0; j < 4; ++j) {
      char c = text[i + j];
      if (c == '=' && i + 4 == text.size() && j >= 2) {
        ++pad;
        v <<= 6;
        continue;
      }
      int d = value(c);
      if (d < 0 || pad > 0) return std::nullopt;
      v = (v << 6) | static_cast<uint32_t>(d);
    }
    out += static_cast<char>(v >> 16);
    if (pad < 2) out += static_cast<char>((v >> 8) & 0xff);
    if (pad < 1) out += static_cast<char>(v & 0xff);
  }
  if (Base64Encode(out) != text) return std::nullopt;  // non-canonical padding bits
  return out;
}

ScramServer::ScramServer(ScramMechanism m, CredentialLookup lookup, std::string server_nonce)
    : mechanism_(m), lookup_(std::move(lookup)), server_nonce_(std::move(server_nonce)) {}

Result<std::string> ScramServer::OnClientFirst(std::string_view message) {
  if (stage_ != 0) return Failed("client-first message out of order");
  stage_ = 2;  // any failure below ends the exchange
  // gs2-header: "n," or "y," (no channel binding; "p=" is refused), then [a=authzid] ",".
  if (message.size() < 3 || (message[0] != 'n' && message[0] != 'y') || message[1] != ',') {
    return Failed(message.starts_with("p=")
                      ? "channel binding is not supported"
                      : "client-first message does not start with a gs2 header");
  }
  size_t second = message.find(',', 2);
  if (second == std::string_view::npos) return Failed("client-first message has no username");
  std::string_view authzid = message.substr(2, second - 2);
  gs2_header_ = std::string(message.substr(0, second + 1));
  client_first_bare_ = std::string(message.substr(second + 1));
  auto attrs = Attributes(client_first_bare_);
  if (attrs.size() < 2 || attrs[0].first != 'n' || attrs[1].first != 'r' ||
      attrs[1].second.empty()) {
    return Failed("client-first message must be n=USER,r=NONCE");
  }
  auto user = DecodeSaslName(attrs[0].second);
  if (!user || user->empty()) return Failed("client-first message has an invalid username");
  if (!authzid.empty()) {
    auto z = authzid.starts_with("a=") ? DecodeSaslName(authzid.substr(2)) : std::nullopt;
    if (!z || *z != *user) return Failed("an authorization id other than the user is refused");
  }
  auto cred = lookup_(*user, mechanism_);
  if (!cred) {
    return Failed(fmt::format("invalid credentials (unknown user or no {} entry)",
                              MechanismName(mechanism_)));
  }
  cred_ = std::move(*cred);
  user_ = std::move(*user);
  std::string snonce = server_nonce_;
  if (snonce.empty()) {
    SLUICE_ASSIGN_OR_RETURN(std::string raw, RandomBytes(24));
    snonce = Base64Encode(raw);
  }
  nonce_ = std::string(attrs[1].second) + snonce;
  server_first_ = fmt::format("r={},s={},i={}", nonce_, Base64Encode(cred_.salt), cred_.iterations);
  stage_ = 1;
  return server_first_;
}

Result<std::string> ScramServer::OnClientFinal(std::string_view message) {
  if (stage_ != 1) return Failed("client-final message out of order");
  stage_ = 2;
  size_t proof_at = message.rfind(",p=");
  if (proof_at == std::string_view::npos) return Failed("client-final message has no proof");
  std::string_view without_proof = message.substr(0, proof_at);
  auto attrs = Attributes(without_proof);
  if (attrs.size() < 2 || attrs[0].first != 'c' || attrs[1].first != 'r') {
    return Failed("client-final message must be c=...,r=...,p=...");
  }
  if (attrs[0].second != Base64Encode(gs2_header_)) {
    return Failed("channel binding data does not match the gs2 header");
  }
  // RFC 5802 wants the nonce of server-first; librdkafka sends its client nonce followed by that
  // nonce, which Apache Kafka accepts by checking only the end (ScramSaslServer), so do we. The
  // nonce is inside AuthMessage, so the proof covers whatever was sent.
  if (!attrs[1].second.ends_with(nonce_)) {
    return Failed("nonce does not match the server-first message");
  }
  auto proof = Base64Decode(message.substr(proof_at + 3));
  if (!proof) return Failed("proof is not base64");
  std::string auth_message =
      client_first_bare_ + "," + server_first_ + "," + std::string(without_proof);
  std::string client_signature = Hmac(mechanism_, cred_.stored_key, auth_message);
  if (proof->size() != client_signature.size()) return Failed("invalid credentials");
  std::string client_key(proof->size(), '\0');
  for (size_t i = 0; i < client_key.size(); ++i) client_key[i] = (*proof)[i] ^ client_signature[i];
  if (!ConstantTimeEqual(Hash(mechanism_, client_key), cred_.stored_key)) {
    return Failed("invalid credentials");
  }
  done_ = true;
  return "v=" + Base64Encode(Hmac(mechanism_, cred_.server_key, auth_message));
}

bool ParsePlain(std::string_view message, std::string* user, std::string* password) {
  size_t a = message.find('\0');
  if (a == std::string_view::npos) return false;
  size_t b = message.find('\0', a + 1);
  if (b == std::string_view::npos) return false;
  std::string_view authzid = message.substr(0, a);
  std::string_view authcid = message.substr(a + 1, b - a - 1);
  if (authcid.empty() || (!authzid.empty() && authzid != authcid)) return false;
  *user = std::string(authcid);
  *password = std::string(message.substr(b + 1));
  return true;
}

}  // namespace sluice::kafka::auth
