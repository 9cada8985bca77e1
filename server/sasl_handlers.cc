// SaslHandshake (17) and SaslAuthenticate (36): authenticating a connection with PLAIN or
// SCRAM-SHA-256/512 against the credentials file, as a Kafka SASL listener does. Without SASL
// configured these APIs are not served (HandleDecoded closes the connection as for any unserved
// API), so these handlers only run with ServerOptions::sasl_mechanisms set.
#include <fmt/format.h>

#include <algorithm>

#include "server/protocol/error_codes.h"
#include "server/request_handler.h"

namespace sluice::kafka {

namespace {

std::string RawTokenFrame(std::string_view token) {
  WireWriter w;
  w.Bytes(token);  // INT32 length + bytes: exactly a bare SASL frame
  return w.Release();
}

}  // namespace

Result<std::string> RequestHandler::SaslStep(SaslSession& session, std::string_view token) {
  const auth::CredentialStore& store = *options_.credentials;
  if (session.mechanism == "PLAIN") {
    std::string user, password;
    if (!auth::ParsePlain(token, &user, &password)) {
      return InvalidArgument("PLAIN: malformed message (expected authzid NUL user NUL password)");
    }
    session.principal = user;  // for the log line; only trusted once authenticated
    // PLAIN is verified against the SCRAM-SHA-512 entry (salted, iterated; no password stored).
    auto cred = store.Lookup(user, auth::ScramMechanism::kSha512);
    if (!cred || !auth::PasswordMatches(auth::ScramMechanism::kSha512, *cred, password)) {
      return InvalidArgument("PLAIN: invalid credentials for user '{}'", user);
    }
    session.authenticated = true;
    return std::string();
  }
  auto m = auth::ParseScramMechanism(session.mechanism);
  if (!m) return Internal("mechanism {} has no implementation", session.mechanism);
  if (!session.scram) {
    auto credentials = options_.credentials;
    session.scram = std::make_unique<auth::ScramServer>(
        *m, [credentials](const std::string& user, auth::ScramMechanism mech) {
          return credentials->Lookup(user, mech);
        });
    auto first = session.scram->OnClientFirst(token);
    if (!first.ok()) return first.status();
    session.principal = session.scram->user();
    return first;
  }
  auto final_message = session.scram->OnClientFinal(token);
  if (!final_message.ok()) {
    return InvalidArgument("{} for user '{}'", final_message.status().message(),
                           session.scram->user());
  }
  session.authenticated = true;
  session.scram.reset();
  return final_message;
}

Reply RequestHandler::HandleSaslHandshake(const RequestHeader& h, const SaslHandshakeRequest& req,
                                          const ClientInfo& client) {
  SaslHandshakeResponse resp;
  resp.mechanisms = options_.sasl_mechanisms;
  SaslSession& s = *client.sasl;
  if (s.handshake_done || s.authenticated) {
    resp.error_code = kIllegalSaslState;
    return {Frame(h, resp), true,
            "SaslHandshake received after a mechanism was chosen (ILLEGAL_SASL_STATE); closing "
            "the connection"};
  }
  auto& enabled = options_.sasl_mechanisms;
  if (std::find(enabled.begin(), enabled.end(), req.mechanism) == enabled.end()) {
    resp.error_code = kUnsupportedSaslMechanism;
    return {Frame(h, resp), true,
            fmt::format("SASL mechanism '{}' is not enabled (enabled: {}); "
                        "UNSUPPORTED_SASL_MECHANISM, closing the connection",
                        req.mechanism, fmt::join(enabled, ", "))};
  }
  s.mechanism = req.mechanism;
  s.handshake_done = true;
  s.raw_tokens = h.api_version == 0;
  return {Frame(h, resp)};
}

Reply RequestHandler::HandleSaslAuthenticate(const RequestHeader& h,
                                             const SaslAuthenticateRequest& req,
                                             const ClientInfo& client) {
  SaslAuthenticateResponse resp;
  SaslSession& s = *client.sasl;
  if (!s.handshake_done || s.authenticated || s.raw_tokens) {
    resp.error_code = kIllegalSaslState;
    resp.error_message = s.authenticated ? "SaslAuthenticate after successful authentication"
                                         : "SaslAuthenticate before SaslHandshake v1";
    return {Frame(h, resp), true,
            fmt::format("{} (ILLEGAL_SASL_STATE); closing the connection", *resp.error_message)};
  }
  auto step = SaslStep(s, req.auth_bytes);
  if (!step.ok()) {
    resp.error_code = kSaslAuthenticationFailed;
    resp.error_message = fmt::format(
        "Authentication failed during authentication due to invalid credentials with SASL "
        "mechanism {}",
        s.mechanism);
    return {Frame(h, resp), true,
            fmt::format("SASL authentication with {} failed: {}; closing the connection",
                        s.mechanism, step.status().message())};
  }
  resp.auth_bytes = std::move(step).value();
  return {Frame(h, resp)};
}

Reply RequestHandler::HandleRawSaslToken(std::string_view token, const ClientInfo& client) {
  SaslSession& s = *client.sasl;
  auto step = SaslStep(s, token);
  if (!step.ok()) {
    // SaslHandshake v0 has no way to carry an error: the broker closes the connection.
    return {"", true,
            fmt::format("SASL authentication with {} failed: {}; closing the connection",
                        s.mechanism, step.status().message())};
  }
  if (s.authenticated) s.raw_tokens = false;
  return {RawTokenFrame(*step)};
}

}  // namespace sluice::kafka
