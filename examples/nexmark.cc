#include "examples/nexmark.h"

#include <fmt/format.h>

#include <array>
#include <cmath>

#include "examples/json.h"

namespace sluice::examples {
namespace {

constexpr int64_t kFirstId = 1000;
constexpr int64_t kFirstCategory = 10;
constexpr int64_t kCategories = 5;
constexpr int64_t kHotSellerRatio = 4;
constexpr int64_t kHotAuctionRatio = 2;
constexpr int64_t kHotBidderRatio = 4;
constexpr int64_t kActiveWindow = 500;  // recent persons / auctions picked from
constexpr std::array<const char*, 6> kFirstNames = {"Peter", "Paul", "Luke",
                                                    "John",  "Saul", "Vicky"};
constexpr std::array<const char*, 6> kLastNames = {"Shultz", "Abrams",  "Spencer",
                                                   "White",  "Bartels", "Walton"};
constexpr std::array<const char*, 6> kCities = {"Phoenix", "Los Angeles", "San Francisco",
                                                "Boise",   "Portland",    "Bend"};
constexpr std::array<const char*, 6> kStates = {"AZ", "CA", "ID", "OR", "WA", "WY"};
constexpr std::array<const char*, 4> kChannels = {"Google", "Facebook", "Baidu", "Apple"};

template <size_t N>
const char* Pick(SplitMix64& r, const std::array<const char*, N>& a) {
  return a[r.Below(N)];
}

int64_t Price(SplitMix64& r) {
  return static_cast<int64_t>(std::pow(10.0, r.Unit() * 6.0) * 100.0) / 100 + 1;
}

}  // namespace

void ToJson(const Person& p, std::string* out) {
  JsonWriter(out)
      .Add("id", p.id)
      .Add("name", p.name)
      .Add("email", p.email)
      .Add("credit_card", p.credit_card)
      .Add("city", p.city)
      .Add("state", p.state)
      .Add("date_time", p.date_time)
      .Add("extra", p.extra)
      .End();
}

std::string ToJson(const Person& p) { return JsonString(p, &ToJson); }

void ToJson(const Auction& a, std::string* out) {
  JsonWriter(out)
      .Add("id", a.id)
      .Add("item_name", a.item_name)
      .Add("description", a.description)
      .Add("initial_bid", a.initial_bid)
      .Add("reserve", a.reserve)
      .Add("date_time", a.date_time)
      .Add("expires", a.expires)
      .Add("seller", a.seller)
      .Add("category", a.category)
      .Add("extra", a.extra)
      .End();
}

std::string ToJson(const Auction& a) { return JsonString(a, &ToJson); }

void ToJson(const Bid& b, std::string* out) {
  JsonWriter(out)
      .Add("auction", b.auction)
      .Add("bidder", b.bidder)
      .Add("price", b.price)
      .Add("channel", b.channel)
      .Add("url", b.url)
      .Add("date_time", b.date_time)
      .Add("extra", b.extra)
      .End();
}

std::string ToJson(const Bid& b) { return JsonString(b, &ToJson); }

Result<Person> ParsePerson(std::string_view json) {
  Person p;
  JsonFields f;
  f.Int("id", &p.id)
      .String("name", &p.name)
      .String("email", &p.email)
      .String("credit_card", &p.credit_card)
      .String("city", &p.city)
      .String("state", &p.state)
      .Int("date_time", &p.date_time)
      .OptionalString("extra", &p.extra);
  SLUICE_RETURN_IF_ERROR(f.Parse(json));
  SLUICE_RETURN_IF_ERROR(CheckEventTime(p.date_time));
  return p;
}

Result<Auction> ParseAuction(std::string_view json) {
  Auction a;
  JsonFields f;
  f.Int("id", &a.id)
      .String("item_name", &a.item_name)
      .String("description", &a.description)
      .Int("initial_bid", &a.initial_bid)
      .Int("reserve", &a.reserve)
      .Int("date_time", &a.date_time)
      .Int("expires", &a.expires)
      .Int("seller", &a.seller)
      .Int("category", &a.category)
      .OptionalString("extra", &a.extra);
  SLUICE_RETURN_IF_ERROR(f.Parse(json));
  SLUICE_RETURN_IF_ERROR(CheckEventTime(a.date_time));
  return a;
}

Result<Bid> ParseBid(std::string_view json) {
  Bid b;
  JsonFields f;
  f.Int("auction", &b.auction)
      .Int("bidder", &b.bidder)
      .Int("price", &b.price)
      .String("channel", &b.channel)
      .String("url", &b.url)
      .Int("date_time", &b.date_time)
      .OptionalString("extra", &b.extra);
  SLUICE_RETURN_IF_ERROR(f.Parse(json));
  SLUICE_RETURN_IF_ERROR(CheckEventTime(b.date_time));
  return b;
}

std::string Validate(const NexmarkOptions& o) {
  if (o.events < 0) return "--events must be 0 or more";
  if (o.events_per_second < 1) return "--rate must be 1 or more events per second";
  if (o.persons_topic.empty() || o.auctions_topic.empty() || o.bids_topic.empty()) {
    return "topic names must not be empty";
  }
  return "";
}

void GenerateNexmark(const NexmarkOptions& o,
                     const std::function<void(const NexmarkRecord&)>& emit) {
  SplitMix64 r(o.seed);
  int64_t persons = 0, auctions = 0;
  for (int64_t n = 0; n < o.events; ++n) {
    int64_t ts = o.start_ms + n * 1000 / o.events_per_second;
    int64_t slot = n % 50;
    if (slot == 0) {
      Person p;
      p.id = kFirstId + persons++;
      std::string first = Pick(r, kFirstNames), last = Pick(r, kLastNames);
      p.name = first + " " + last;
      p.email = fmt::format("{}{}@{}.com", first, p.id % 100, last);
      p.credit_card = fmt::format("{:04} {:04} {:04} {:04}", r.Below(10000), r.Below(10000),
                                  r.Below(10000), r.Below(10000));
      size_t c = r.Below(kCities.size());
      p.city = kCities[c];
      p.state = kStates[r.Below(kStates.size())];
      p.date_time = ts;
      emit(NexmarkRecord{NexmarkRecord::Kind::kPerson,
                         &o.persons_topic,
                         {std::to_string(p.id), ToJson(p), Timestamp(ts)}});
    } else if (slot <= 3) {
      Auction a;
      a.id = kFirstId + auctions++;
      int64_t last_person = kFirstId + std::max<int64_t>(persons, 1) - 1;
      if (r.Below(kHotSellerRatio) > 0) {
        a.seller = std::max(kFirstId, last_person / kHotSellerRatio * kHotSellerRatio);
      } else {
        a.seller = last_person - static_cast<int64_t>(r.Below(
                                     static_cast<uint64_t>(std::min(persons, kActiveWindow)) + 1));
        a.seller = std::max(a.seller, kFirstId);
      }
      a.category = kFirstCategory + static_cast<int64_t>(r.Below(kCategories));
      a.item_name = fmt::format("item-{}", a.id);
      a.description = fmt::format("a fine item number {}", a.id);
      a.initial_bid = Price(r);
      a.reserve = a.initial_bid + Price(r);
      a.date_time = ts;
      a.expires = ts + 2000 + static_cast<int64_t>(r.Below(20000));
      emit(NexmarkRecord{NexmarkRecord::Kind::kAuction,
                         &o.auctions_topic,
                         {std::to_string(a.id), ToJson(a), Timestamp(ts)}});
    } else {
      Bid b;
      int64_t last_auction = kFirstId + std::max<int64_t>(auctions, 1) - 1;
      if (r.Below(kHotAuctionRatio) > 0) {
        b.auction = std::max(kFirstId, last_auction / kHotAuctionRatio * kHotAuctionRatio);
      } else {
        b.auction = last_auction -
                    static_cast<int64_t>(
                        r.Below(static_cast<uint64_t>(std::min(auctions, kActiveWindow)) + 1));
        b.auction = std::max(b.auction, kFirstId);
      }
      int64_t last_person = kFirstId + std::max<int64_t>(persons, 1) - 1;
      if (r.Below(kHotBidderRatio) > 0) {
        b.bidder = std::max(kFirstId, last_person / kHotBidderRatio * kHotBidderRatio + 1);
      } else {
        b.bidder = std::max(
            kFirstId,
            last_person - static_cast<int64_t>(r.Below(
                              static_cast<uint64_t>(std::min(persons, kActiveWindow)) + 1)));
      }
      b.price = Price(r);
      b.channel = Pick(r, kChannels);
      b.url = fmt::format("https://www.nexmark.com/item.htm?query=1&id={}", b.auction);
      b.date_time = ts;
      emit(NexmarkRecord{NexmarkRecord::Kind::kBid,
                         &o.bids_topic,
                         {std::to_string(b.auction), ToJson(b), Timestamp(ts)}});
    }
  }
}

}  // namespace sluice::examples
