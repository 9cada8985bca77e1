// SASL mechanisms of the Kafka listener: SCRAM-SHA-256 / SCRAM-SHA-512 (RFC 5802, RFC 7677) and
// PLAIN (RFC 4616), over OpenSSL's libcrypto (PBKDF2-HMAC, HMAC, digests, RAND_bytes).
//
// Only the server side. The server keeps, per user and mechanism, a ScramCredential (salt,
// iterations, StoredKey, ServerKey) and never the password; PLAIN is checked by recomputing
// StoredKey from the offered password with the SCRAM-SHA-512 entry's salt and iterations.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "core/status.h"

namespace sluice::kafka::auth {

enum class ScramMechanism { kSha256, kSha512 };

// "SCRAM-SHA-256" / "SCRAM-SHA-512".
const char* MechanismName(ScramMechanism m);
// Parses a mechanism name; nullopt for anything else (PLAIN included).
std::optional<ScramMechanism> ParseScramMechanism(std::string_view name);

struct ScramCredential {
  std::string salt;  // raw bytes
  int32_t iterations = 0;
  std::string stored_key;  // H(HMAC(SaltedPassword, "Client Key")), raw
  std::string server_key;  // HMAC(SaltedPassword, "Server Key"), raw
};

// Kafka's minimum (4096) is also the default; the RFC 7677 vector uses 4096.
inline constexpr int32_t kDefaultScramIterations = 4096;

// Derives the credential of `password` with a fresh random salt.
Result<ScramCredential> MakeScramCredential(ScramMechanism m, std::string_view password,
                                            int32_t iterations = kDefaultScramIterations);
// Derives the credential with a given salt (tests, and PLAIN verification).
ScramCredential DeriveScramCredential(ScramMechanism m, std::string_view password,
                                      std::string_view salt, int32_t iterations);
// True when `password` derives `cred`'s StoredKey (constant-time comparison).
bool PasswordMatches(ScramMechanism m, const ScramCredential& cred, std::string_view password);

std::string Base64Encode(std::string_view raw);
// nullopt unless `text` is canonical padded base64.
std::optional<std::string> Base64Decode(std::string_view text);

// Looks a user's credential up for a mechanism; nullopt when the user or entry does not exist.
using CredentialLookup =
    std::function<std::optional<ScramCredential>(const std::string& user, ScramMechanism m)>;

// The server side of one SCRAM exchange: client-first → server-first, client-final →
// server-final. Any error is final (the exchange failed); messages say why, without revealing
// whether the user exists.
class ScramServer {
 public:
  // `server_nonce` overrides the random nonce (tests with RFC vectors); empty = random.
  ScramServer(ScramMechanism m, CredentialLookup lookup, std::string server_nonce = "");

  Result<std::string> OnClientFirst(std::string_view message);
  Result<std::string> OnClientFinal(std::string_view message);
  // The authenticated user once OnClientFinal succeeded.
  const std::string& user() const { return user_; }
  bool done() const { return done_; }

 private:
  ScramMechanism mechanism_;
  CredentialLookup lookup_;
  std::string server_nonce_;
  std::string user_;
  std::string gs2_header_;
  std::string client_first_bare_;
  std::string server_first_;
  std::string nonce_;
  ScramCredential cred_;
  int stage_ = 0;  // 0 = expect client-first, 1 = expect client-final, 2 = finished
  bool done_ = false;
};

// Parses a PLAIN message "authzid NUL authcid NUL password". The authzid must be empty or the
// authcid. Returns false for anything else.
bool ParsePlain(std::string_view message, std::string* user, std::string* password);

}  // namespace sluice::kafka::auth
