// SCRAM-SHA-256 against RFC 7677's test vector, SCRAM-SHA-512 and PLAIN round trips, and the
// credentials file (checksummed, no passwords, permissions by prefix).
#include "server/auth/scram.h"

#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <filesystem>

#include "core/file_system.h"
#include "server/auth/credentials.h"

namespace sluice::kafka::auth {
namespace {

// RFC 7677 section 3: user "user", password "pencil".
constexpr char kSalt[] = "W22ZaJ0SNY7soEsUEjb6gQ==";
constexpr char kClientFirst[] = "n,,n=user,r=rOprNGfwEbeRWgbNEkqO";
constexpr char kServerNonce[] = "%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0";
constexpr char kServerFirst[] =
    "r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096";
constexpr char kClientFinal[] =
    "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,"
    "p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=";
constexpr char kServerFinal[] = "v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=";

CredentialLookup OneUser(std::string name, ScramMechanism mech, ScramCredential cred) {
  return [=](const std::string& user, ScramMechanism m) -> std::optional<ScramCredential> {
    if (user != name || m != mech) return std::nullopt;
    return cred;
  };
}

ScramCredential PencilCredential() {
  return DeriveScramCredential(ScramMechanism::kSha256, "pencil", *Base64Decode(kSalt), 4096);
}

TEST(ScramTest, Rfc7677VectorSha256) {
  ScramServer server(ScramMechanism::kSha256,
                     OneUser("user", ScramMechanism::kSha256, PencilCredential()), kServerNonce);
  auto first = server.OnClientFirst(kClientFirst);
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_EQ(*first, kServerFirst);
  auto final_message = server.OnClientFinal(kClientFinal);
  ASSERT_TRUE(final_message.ok()) << final_message.status();
  EXPECT_EQ(*final_message, kServerFinal);
  EXPECT_TRUE(server.done());
  EXPECT_EQ(server.user(), "user");
}

TEST(ScramTest, WrongProofIsRefused) {
  ScramServer server(ScramMechanism::kSha256,
                     OneUser("user", ScramMechanism::kSha256, PencilCredential()), kServerNonce);
  ASSERT_TRUE(server.OnClientFirst(kClientFirst).ok());
  std::string tampered = kClientFinal;
  tampered[tampered.size() - 3] = tampered[tampered.size() - 3] == 'A' ? 'B' : 'A';
  auto r = server.OnClientFinal(tampered);
  EXPECT_FALSE(r.ok());
  EXPECT_FALSE(server.done());
  // A second client-final after a failure is refused too.
  EXPECT_FALSE(server.OnClientFinal(kClientFinal).ok());
}

TEST(ScramTest, WrongPasswordCredentialIsRefused) {
  auto other =
      DeriveScramCredential(ScramMechanism::kSha256, "pencil2", *Base64Decode(kSalt), 4096);
  ScramServer server(ScramMechanism::kSha256, OneUser("user", ScramMechanism::kSha256, other),
                     kServerNonce);
  ASSERT_TRUE(server.OnClientFirst(kClientFirst).ok());
  EXPECT_FALSE(server.OnClientFinal(kClientFinal).ok());
}

TEST(ScramTest, UnknownUserNonceMismatchAndChannelBindingAreRefused) {
  ScramServer unknown(ScramMechanism::kSha256,
                      OneUser("someone", ScramMechanism::kSha256, PencilCredential()));
  EXPECT_FALSE(unknown.OnClientFirst(kClientFirst).ok());

  ScramServer nonce(ScramMechanism::kSha256,
                    OneUser("user", ScramMechanism::kSha256, PencilCredential()), kServerNonce);
  ASSERT_TRUE(nonce.OnClientFirst(kClientFirst).ok());
  std::string bad = kClientFinal;
  bad.replace(bad.find("%hv"), 3, "%hw");
  EXPECT_FALSE(nonce.OnClientFinal(bad).ok());

  ScramServer binding(ScramMechanism::kSha256,
                      OneUser("user", ScramMechanism::kSha256, PencilCredential()));
  EXPECT_FALSE(binding.OnClientFirst("p=tls-unique,,n=user,r=abc").ok());
}

// A client computing the proof the RFC 5802 way, for SHA-512 (no published vector).
std::string ClientProof(const EVP_MD* md, const std::string& password, const std::string& salt,
                        int iterations, const std::string& auth_message) {
  unsigned char salted[64], client_key[64], stored[64], signature[64];
  int n = EVP_MD_get_size(md);
  PKCS5_PBKDF2_HMAC(password.data(), password.size(),
                    reinterpret_cast<const unsigned char*>(salt.data()), salt.size(), iterations,
                    md, n, salted);
  unsigned len = 0;
  HMAC(md, salted, n, reinterpret_cast<const unsigned char*>("Client Key"), 10, client_key, &len);
  EVP_Digest(client_key, n, stored, &len, md, nullptr);
  HMAC(md, stored, n, reinterpret_cast<const unsigned char*>(auth_message.data()),
       auth_message.size(), signature, &len);
  std::string proof(n, '\0');
  for (int i = 0; i < n; ++i) proof[i] = static_cast<char>(client_key[i] ^ signature[i]);
  return Base64Encode(proof);
}

TEST(ScramTest, Sha512RoundTripWithRandomSaltAndNonce) {
  auto cred = MakeScramCredential(ScramMechanism::kSha512, "s3cret");
  ASSERT_TRUE(cred.ok());
  ScramServer server(ScramMechanism::kSha512, OneUser("bob", ScramMechanism::kSha512, *cred));
  auto first = server.OnClientFirst("n,,n=bob,r=clientnonce");
  ASSERT_TRUE(first.ok()) << first.status();
  std::string nonce = first->substr(2, first->find(',') - 2);
  ASSERT_TRUE(nonce.starts_with("clientnonce"));
  ASSERT_GT(nonce.size(), std::string("clientnonce").size());
  std::string without_proof = "c=biws,r=" + nonce;
  std::string auth_message = "n=bob,r=clientnonce," + *first + "," + without_proof;
  auto good = server.OnClientFinal(
      without_proof + ",p=" + ClientProof(EVP_sha512(), "s3cret", cred->salt, 4096, auth_message));
  ASSERT_TRUE(good.ok()) << good.status();
  EXPECT_TRUE(good->starts_with("v="));

  ScramServer again(ScramMechanism::kSha512, OneUser("bob", ScramMechanism::kSha512, *cred));
  auto first2 = again.OnClientFirst("n,,n=bob,r=clientnonce");
  ASSERT_TRUE(first2.ok());
  std::string nonce2 = first2->substr(2, first2->find(',') - 2);
  EXPECT_NE(nonce, nonce2);  // fresh server nonce each exchange
  std::string wp2 = "c=biws,r=" + nonce2;
  std::string am2 = "n=bob,r=clientnonce," + *first2 + "," + wp2;
  EXPECT_FALSE(
      again.OnClientFinal(wp2 + ",p=" + ClientProof(EVP_sha512(), "wrong", cred->salt, 4096, am2))
          .ok());
}

TEST(ScramTest, PlainParsingAndPasswordCheck) {
  std::string user, password;
  EXPECT_TRUE(ParsePlain(std::string("\0alice\0pw", 9), &user, &password));
  EXPECT_EQ(user, "alice");
  EXPECT_EQ(password, "pw");
  EXPECT_TRUE(ParsePlain(std::string("alice\0alice\0pw", 14), &user, &password));
  EXPECT_FALSE(ParsePlain(std::string("bob\0alice\0pw", 12), &user, &password));
  EXPECT_FALSE(ParsePlain("alice", &user, &password));
  auto cred = MakeScramCredential(ScramMechanism::kSha512, "pw");
  ASSERT_TRUE(cred.ok());
  EXPECT_TRUE(PasswordMatches(ScramMechanism::kSha512, *cred, "pw"));
  EXPECT_FALSE(PasswordMatches(ScramMechanism::kSha512, *cred, "pW"));
}

TEST(ScramTest, Base64RoundTripAndRejects) {
  for (std::string s :
       std::vector<std::string>{"", "a", "ab", "abc", "abcd", std::string("\0\xff\x10", 3)}) {
    EXPECT_EQ(Base64Decode(Base64Encode(s)), s);
  }
  EXPECT_EQ(Base64Encode("pencil"), "cGVuY2ls");
  EXPECT_FALSE(Base64Decode("abc").has_value());
  EXPECT_FALSE(Base64Decode("ab=c").has_value());
  EXPECT_FALSE(Base64Decode("YR==").has_value());  // non-canonical padding bits
}

TEST(CredentialStoreTest, SavesChecksummedWithoutPasswordsAndDetectsDamage) {
  std::string dir = ::testing::TempDir() + "/cred_store_test";
  std::filesystem::remove_all(dir);
  CredentialStore store;
  auto& u = store.users()["alice"];
  u.scram[ScramMechanism::kSha256] = *MakeScramCredential(ScramMechanism::kSha256, "hunter2");
  u.scram[ScramMechanism::kSha512] = *MakeScramCredential(ScramMechanism::kSha512, "hunter2");
  u.permissions.push_back({ResourceType::kTopic, "clicks", kRead | kWrite});
  u.permissions.push_back({ResourceType::kGroup, "", kRead});
  ASSERT_TRUE(store.Save(dir).ok());
  auto bytes = FileSystem::Default()->ReadFile(CredentialStore::PathIn(dir));
  ASSERT_TRUE(bytes.ok());
  EXPECT_EQ(bytes->find("hunter2"), std::string::npos);
  auto loaded = CredentialStore::Load(dir);
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  EXPECT_EQ(loaded->Render(), store.Render());
  EXPECT_TRUE(loaded->Allowed("alice", ResourceType::kTopic, "clicks-eu", kRead | kWrite));
  EXPECT_FALSE(loaded->Allowed("alice", ResourceType::kTopic, "clicks-eu", kAdmin));
  EXPECT_FALSE(loaded->Allowed("alice", ResourceType::kTopic, "click", kRead));
  EXPECT_TRUE(loaded->Allowed("alice", ResourceType::kGroup, "anything", kRead));
  EXPECT_FALSE(loaded->Allowed("bob", ResourceType::kGroup, "anything", kRead));
  auto cred = loaded->Lookup("alice", ScramMechanism::kSha512);
  ASSERT_TRUE(cred.has_value());
  EXPECT_TRUE(PasswordMatches(ScramMechanism::kSha512, *cred, "hunter2"));

  // One flipped byte (a permission letter) is detected by the checksum.
  std::string damaged = *bytes;
  damaged[damaged.find("allow topic clicks rw") + 19] = 'a';
  ASSERT_TRUE(FileSystem::Default()->WriteFileAtomic(CredentialStore::PathIn(dir), damaged).ok());
  auto bad = CredentialStore::Load(dir);
  EXPECT_EQ(bad.status().code(), StatusCode::kCorruption) << bad.status();
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace sluice::kafka::auth
