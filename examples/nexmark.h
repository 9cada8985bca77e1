// NEXMark: the online-auction benchmark model (persons, auctions, bids) as the Flink, Arroyo and
// RisingWave NEXMark generators produce it, deterministic from a seed. `sluice gen nexmark`
// writes three topics; examples/nexmark_queries.h runs queries q0-q5, q7 and q8 over them.
//
// Event n (from 0) is a person if n % 50 == 0, an auction if n % 50 in 1..3, else a bid (1:3:46,
// the generator's proportions); its event time is start_ms + n * 1000 / events_per_second.
// Ids start at 1000. Sellers and bidders are "hot" (the most recent person rounded down to a
// multiple of 4 / 2 ... as in the reference generator) most of the time, auctions likewise, so
// some auctions get most bids. Prices are log-uniform between 1 and 1,000,000 cents.
//
// Records (JSON values, times epoch ms; record timestamp = date_time):
//   persons  key = id:      {"id":1000,"name":"Peter Jones","email":"peter@xyz.com",
//                            "credit_card":"1234 5678 9012 3456","city":"Boise","state":"ID",
//                            "date_time":1700000000000,"extra":""}
//   auctions key = id:      {"id":1000,"item_name":"item-1000","description":"...",
//                            "initial_bid":123,"reserve":456,"date_time":...,"expires":...,
//                            "seller":1000,"category":12,"extra":""}
//   bids     key = auction: {"auction":1000,"bidder":1001,"price":5000,"channel":"Google",
//                            "url":"https://www.nexmark.com/...","date_time":...,"extra":""}
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include "core/status.h"
#include "examples/clickstream.h"

namespace sluice::examples {

struct Person {
  int64_t id = 0;
  std::string name, email, credit_card, city, state;
  int64_t date_time = 0;
  std::string extra;
  bool operator==(const Person&) const = default;
};

struct Auction {
  int64_t id = 0;
  std::string item_name, description;
  int64_t initial_bid = 0, reserve = 0, date_time = 0, expires = 0, seller = 0, category = 0;
  std::string extra;
  bool operator==(const Auction&) const = default;
};

struct Bid {
  int64_t auction = 0, bidder = 0, price = 0;
  std::string channel, url;
  int64_t date_time = 0;
  std::string extra;
  bool operator==(const Bid&) const = default;
};

std::string ToJson(const Person& p);
std::string ToJson(const Auction& a);
std::string ToJson(const Bid& b);
// The same JSON written into *out (replacing its contents, reusing its capacity).
void ToJson(const Person& p, std::string* out);
void ToJson(const Auction& a, std::string* out);
void ToJson(const Bid& b, std::string* out);
Result<Person> ParsePerson(std::string_view json);
Result<Auction> ParseAuction(std::string_view json);
Result<Bid> ParseBid(std::string_view json);

struct NexmarkOptions {
  int64_t events = 100000;
  uint64_t seed = 1;
  int64_t start_ms = 1700000000000;
  int64_t events_per_second = 10000;
  std::string persons_topic = "persons";
  std::string auctions_topic = "auctions";
  std::string bids_topic = "bids";
};

std::string Validate(const NexmarkOptions& o);

// What the generator emits: the topic it goes to and the record.
struct NexmarkRecord {
  enum class Kind { kPerson, kAuction, kBid } kind;
  const std::string* topic;
  GeneratedRecord record;
};

// Calls emit for each event in order. REQUIRES: Validate(o) is empty.
void GenerateNexmark(const NexmarkOptions& o,
                     const std::function<void(const NexmarkRecord&)>& emit);

}  // namespace sluice::examples
