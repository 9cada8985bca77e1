#include "examples/nexmark_queries.h"

#include <fmt/format.h>

#include <algorithm>
#include <tuple>

#include "core/varint.h"
#include "examples/analytics_util.h"
#include "examples/json.h"
#include "operators/joins.h"
#include "operators/top_n.h"
#include "operators/windows.h"

namespace sluice::examples {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

// Records whose key is not key_of(value) go to the dead-letter topic with the reason.
template <typename T, typename F>
Stream<std::string, T> CheckKey(const Stream<std::string, T>& s, const std::string& topic,
                                const std::string& dlq, const std::string& name, F key_of) {
  auto br = s.Branch([key_of](const std::string& k, const T& v) { return k == key_of(v); },
                     [](const std::string&, const T&) { return true; });
  br[1]
      .Map(
          [topic, key_of](const std::string& k, const T& v) {
            return std::pair(k, DeadLetterJson(fmt::format("record key '{}' should be '{}' (the "
                                                           "generator's keying); re-key the topic",
                                                           k, key_of(v)),
                                               topic, ToJson(v)));
          },
          name + "-key-dead-letter")
      .To(dlq, name + "-key-dead-letter-sink");
  return br[0];
}

Stream<std::string, Bid> Bids(TopologyBuilder& b, const NexmarkQueryOptions& o) {
  auto bids = ParseOrDeadLetter<Bid>(
      b, o.bids, o.dead_letter_topic, "bid", [](std::string_view v) { return ParseBid(v); },
      [](const Bid& x) { return x.date_time; });
  return CheckKey(bids, o.bids, o.dead_letter_topic, "bid",
                  [](const Bid& x) { return std::to_string(x.auction); });
}

Stream<std::string, Auction> Auctions(TopologyBuilder& b, const NexmarkQueryOptions& o) {
  return ParseOrDeadLetter<Auction>(
      b, o.auctions, o.dead_letter_topic, "auction",
      [](std::string_view v) { return ParseAuction(v); },
      [](const Auction& x) { return x.date_time; });
}

Stream<std::string, Person> Persons(TopologyBuilder& b, const NexmarkQueryOptions& o) {
  return ParseOrDeadLetter<Person>(
      b, o.persons, o.dead_letter_topic, "person",
      [](std::string_view v) { return ParsePerson(v); },
      [](const Person& x) { return x.date_time; });
}

// q4: an auction's category and one of its bids' prices.
struct CategoryPrice {
  int64_t category = 0;
  int64_t price = 0;
  bool valid = false;
};
SerdePtr<CategoryPrice> CategoryPriceSerde() {
  static const auto s = MakeSerde<CategoryPrice>(
      "category-price",
      [](const CategoryPrice& c, std::string* out) {
        out->assign(17, '\0');
        varint::PutBE64(out->data(), static_cast<uint64_t>(c.category));
        varint::PutBE64(out->data() + 8, static_cast<uint64_t>(c.price));
        (*out)[16] = c.valid ? 1 : 0;
      },
      [](std::string_view b, CategoryPrice* c) -> Status {
        if (b.size() != 17) return InvalidArgument("category-price needs 17 bytes");
        c->category = static_cast<int64_t>(varint::GetBE64(b.data()));
        c->price = static_cast<int64_t>(varint::GetBE64(b.data() + 8));
        c->valid = b[16] != 0;
        return Status::Ok();
      });
  return s;
}

struct SumCount {
  int64_t sum = 0;
  int64_t count = 0;
};
SerdePtr<SumCount> SumCountSerde() {
  static const auto s = MakeSerde<SumCount>(
      "sum-count",
      [](const SumCount& c, std::string* out) {
        out->assign(16, '\0');
        varint::PutBE64(out->data(), static_cast<uint64_t>(c.sum));
        varint::PutBE64(out->data() + 8, static_cast<uint64_t>(c.count));
      },
      [](std::string_view b, SumCount* c) -> Status {
        if (b.size() != 16) return InvalidArgument("sum-count needs 16 bytes");
        c->sum = static_cast<int64_t>(varint::GetBE64(b.data()));
        c->count = static_cast<int64_t>(varint::GetBE64(b.data() + 8));
        return Status::Ok();
      });
  return s;
}

// q6: one closed auction's seller, expiry and one of its bids' prices.
struct SellerPrice {
  int64_t seller = 0;
  int64_t auction = 0;
  int64_t expires = 0;
  int64_t price = 0;
  bool valid = false;
};
SerdePtr<SellerPrice> SellerPriceSerde() {
  static const auto s = MakeSerde<SellerPrice>(
      "seller-price",
      [](const SellerPrice& c, std::string* out) {
        out->assign(33, '\0');
        varint::PutBE64(out->data(), static_cast<uint64_t>(c.seller));
        varint::PutBE64(out->data() + 8, static_cast<uint64_t>(c.auction));
        varint::PutBE64(out->data() + 16, static_cast<uint64_t>(c.expires));
        varint::PutBE64(out->data() + 24, static_cast<uint64_t>(c.price));
        (*out)[32] = c.valid ? 1 : 0;
      },
      [](std::string_view b, SellerPrice* c) -> Status {
        if (b.size() != 33) return InvalidArgument("seller-price needs 33 bytes");
        c->seller = static_cast<int64_t>(varint::GetBE64(b.data()));
        c->auction = static_cast<int64_t>(varint::GetBE64(b.data() + 8));
        c->expires = static_cast<int64_t>(varint::GetBE64(b.data() + 16));
        c->price = static_cast<int64_t>(varint::GetBE64(b.data() + 24));
        c->valid = b[32] != 0;
        return Status::Ok();
      });
  return s;
}

// q6: a seller's most recently closed auctions, at most kQ6Auctions, as (expires, auction,
// price) in ascending (expires, auction) order. Kept by expiry rather than by arrival so that the
// result does not depend on how closings from different tasks interleave.
constexpr size_t kQ6Auctions = 10;
struct Q6Entry {
  int64_t expires = 0;
  int64_t auction = 0;
  int64_t price = 0;
  auto operator<=>(const Q6Entry&) const = default;
};
using Q6Last = std::vector<Q6Entry>;
SerdePtr<Q6Last> Q6LastSerde() {
  static const auto s = MakeSerde<Q6Last>(
      "q6-last-auctions",
      [](const Q6Last& l, std::string* out) {
        out->assign(24 * l.size(), '\0');
        for (size_t i = 0; i < l.size(); ++i) {
          varint::PutBE64(out->data() + 24 * i, static_cast<uint64_t>(l[i].expires));
          varint::PutBE64(out->data() + 24 * i + 8, static_cast<uint64_t>(l[i].auction));
          varint::PutBE64(out->data() + 24 * i + 16, static_cast<uint64_t>(l[i].price));
        }
      },
      [](std::string_view b, Q6Last* l) -> Status {
        if (b.size() % 24 != 0) return InvalidArgument("q6 state needs a multiple of 24 bytes");
        l->clear();
        for (size_t i = 0; i < b.size(); i += 24) {
          l->push_back({static_cast<int64_t>(varint::GetBE64(b.data() + i)),
                        static_cast<int64_t>(varint::GetBE64(b.data() + i + 8)),
                        static_cast<int64_t>(varint::GetBE64(b.data() + i + 16))});
        }
        return Status::Ok();
      });
  return s;
}

// q8: a person registering or an auction opened by that person, in one window.
struct Q8State {
  bool person = false;
  std::string name;
  int64_t auctions = 0;
};
SerdePtr<Q8State> Q8Serde() {
  static const auto s = MakeSerde<Q8State>(
      "q8-state",
      [](const Q8State& q, std::string* out) {
        out->assign(9, '\0');
        (*out)[0] = q.person ? 1 : 0;
        varint::PutBE64(out->data() + 1, static_cast<uint64_t>(q.auctions));
        out->append(q.name);
      },
      [](std::string_view b, Q8State* q) -> Status {
        if (b.size() < 9) return InvalidArgument("q8 state needs at least 9 bytes");
        q->person = b[0] != 0;
        q->auctions = static_cast<int64_t>(varint::GetBE64(b.data() + 1));
        q->name.assign(b.substr(9));
        return Status::Ok();
      });
  return s;
}

}  // namespace

SerdePtr<Bid> BidRecordSerde() {
  // The first byte: a format version, and never '{', so a JSON bid is refused, not misread.
  constexpr char kVersion = 1;
  static const auto s = MakeSerde<Bid>(
      "bid-record",
      [](const Bid& b, std::string* out) {
        out->assign(33, '\0');
        (*out)[0] = kVersion;
        varint::PutBE64(out->data() + 1, static_cast<uint64_t>(b.auction));
        varint::PutBE64(out->data() + 9, static_cast<uint64_t>(b.bidder));
        varint::PutBE64(out->data() + 17, static_cast<uint64_t>(b.price));
        varint::PutBE64(out->data() + 25, static_cast<uint64_t>(b.date_time));
        for (const std::string* f : {&b.channel, &b.url, &b.extra}) {
          varint::PutVarlong(out, static_cast<int64_t>(f->size()));
          out->append(*f);
        }
      },
      [](std::string_view in, Bid* b) -> Status {
        if (!in.empty() && in[0] != kVersion) {
          return InvalidArgument(
              "not a bid-record (first byte {:#04x}; a JSON bid from a build before q7 used "
              "bid-record?): reset the q7 application's state and repartition topic",
              static_cast<unsigned char>(in[0]));
        }
        if (in.size() < 33) {
          return InvalidArgument("bid-record needs at least 33 bytes, got {}", in.size());
        }
        b->auction = static_cast<int64_t>(varint::GetBE64(in.data() + 1));
        b->bidder = static_cast<int64_t>(varint::GetBE64(in.data() + 9));
        b->price = static_cast<int64_t>(varint::GetBE64(in.data() + 17));
        b->date_time = static_cast<int64_t>(varint::GetBE64(in.data() + 25));
        const char* p = in.data() + 33;
        const char* end = in.data() + in.size();
        for (std::string* f : {&b->channel, &b->url, &b->extra}) {
          int64_t n = 0;
          if (!varint::GetVarlong(&p, end, &n) || n < 0 || n > end - p) {
            return InvalidArgument("bid-record: a string runs past the {} bytes", in.size());
          }
          f->assign(p, static_cast<size_t>(n));
          p += n;
        }
        if (p != end) return InvalidArgument("bid-record: {} bytes left over", end - p);
        return Status::Ok();
      });
  return s;
}

namespace {

// q7's total order: higher price, then smaller auction, bidder, date_time, url.
bool BidBefore(const Bid& a, const Bid& b) {
  return std::tuple(-a.price, a.auction, a.bidder, a.date_time, a.url) <
         std::tuple(-b.price, b.auction, b.bidder, b.date_time, b.url);
}

}  // namespace

const std::vector<std::string>& NexmarkQueries() {
  static const std::vector<std::string> q = {"q0", "q1", "q2", "q3", "q4", "q5", "q6", "q7", "q8"};
  return q;
}

std::vector<std::string> NexmarkInputs(const NexmarkQueryOptions& o) {
  if (o.query == "q3" || o.query == "q8") return {o.persons, o.auctions};
  if (o.query == "q4" || o.query == "q6") return {o.auctions, o.bids};
  return {o.bids};
}

std::string NexmarkOutput(const NexmarkQueryOptions& o) {
  return o.output.empty() ? "nexmark-" + o.query : o.output;
}

Status AddNexmarkQuery(TopologyBuilder& b, const NexmarkQueryOptions& o) {
  const std::string out = NexmarkOutput(o);
  const std::string& q = o.query;
  if (q == "q0") {
    Bids(b, o).MapValues([](const Bid& x) { return ToJson(x); }, "q0-json").To(out, "q0-sink");
  } else if (q == "q1") {
    Bids(b, o)
        .MapValues(
            [](const Bid& x) {
              return JsonWriter()
                  .Add("auction", x.auction)
                  .Add("bidder", x.bidder)
                  .Add("price", DollarsToEuros(x.price))
                  .Add("date_time", x.date_time)
                  .Finish();
            },
            "q1-convert")
        .To(out, "q1-sink");
  } else if (q == "q2") {
    Bids(b, o)
        .Filter([](const std::string&, const Bid& x) { return x.auction % 123 == 0; }, "q2-select")
        .MapValues(
            [](const Bid& x) {
              return JsonWriter().Add("auction", x.auction).Add("price", x.price).Finish();
            },
            "q2-json")
        .To(out, "q2-sink");
  } else if (q == "q3") {
    auto persons =
        Persons(b, o)
            .Filter(
                [](const std::string&, const Person& p) {
                  return p.state == "OR" || p.state == "ID" || p.state == "CA";
                },
                "q3-local-persons")
            .KeyBy([](const std::string&, const Person& p) { return std::to_string(p.id); },
                   "q3-person-by-id");
    auto auctions =
        Auctions(b, o)
            .Filter([](const std::string&, const Auction& a) { return a.category == 10; },
                    "q3-category-10")
            .KeyBy([](const std::string&, const Auction& a) { return std::to_string(a.seller); },
                   "q3-auction-by-seller");
    JoinWindowed(
        persons, auctions, "q3-join", std::chrono::hours(24), JoinKind::kInner,
        [](const std::string&, const std::optional<Person>& p, const std::optional<Auction>& a) {
          return JsonWriter()
              .Add("name", p->name)
              .Add("city", p->city)
              .Add("state", p->state)
              .Add("id", a->id)
              .Finish();
        })
        .To(out, "q3-sink");
  } else if (q == "q4") {
    auto auctions = Auctions(b, o).KeyBy(
        [](const std::string&, const Auction& a) { return std::to_string(a.id); },
        "q4-auction-by-id");
    auto bids = Bids(b, o);
    JoinWindowed(
        auctions, bids, "q4-join", seconds(25), JoinKind::kInner,
        [](const std::string&, const std::optional<Auction>& a, const std::optional<Bid>& x) {
          return CategoryPrice{a->category, x->price,
                               x->date_time >= a->date_time && x->date_time <= a->expires};
        })
        .WithSerdes({.value = CategoryPriceSerde()})
        .Filter([](const std::string&, const CategoryPrice& c) { return c.valid; }, "q4-in-time")
        .GroupByKey()
        // All bids of an auction fall within its lifetime (< 25 s): one session per auction.
        .WindowedBy(Windows::Session(seconds(30)))
        .Reduce("q4-winning-bids", [](const CategoryPrice& a,
                                      const CategoryPrice& c) { return c.price > a.price ? c : a; })
        .Map(
            [](const std::string&, const WindowResult<CategoryPrice>& r) {
              return std::pair(std::to_string(r.value.category), r.value.price);
            },
            "q4-by-category")
        .GroupByKey()
        .Aggregate(
            "q4-category-avg", [] { return SumCount{}; },
            [](const std::string&, const int64_t& price, const SumCount& s) {
              return SumCount{s.sum + price, s.count + 1};
            },
            SumCountSerde())
        .ToStream("q4-updates")
        .Map(
            [](const std::string& cat, const SumCount& s) {
              return std::pair(cat, JsonWriter()
                                        .Add("category", static_cast<int64_t>(std::stoll(cat)))
                                        .Add("avg_price", s.sum / s.count)
                                        .Add("auctions", s.count)
                                        .Finish());
            },
            "q4-json")
        .To(out, "q4-sink");
  } else if (q == "q6") {
    auto auctions = Auctions(b, o).KeyBy(
        [](const std::string&, const Auction& a) { return std::to_string(a.id); },
        "q6-auction-by-id");
    auto bids = Bids(b, o);
    // The winning bid per auction as in q4 (the highest bid within the auction's lifetime,
    // final once the auction's session closes), then re-keyed by seller.
    JoinWindowed(
        auctions, bids, "q6-join", seconds(25), JoinKind::kInner,
        [](const std::string&, const std::optional<Auction>& a, const std::optional<Bid>& x) {
          return SellerPrice{a->seller, a->id, a->expires, x->price,
                             x->date_time >= a->date_time && x->date_time <= a->expires};
        })
        .WithSerdes({.value = SellerPriceSerde()})
        .Filter([](const std::string&, const SellerPrice& c) { return c.valid; }, "q6-in-time")
        .GroupByKey()
        .WindowedBy(Windows::Session(seconds(30)))
        .Reduce("q6-winning-bids", [](const SellerPrice& a,
                                      const SellerPrice& c) { return c.price > a.price ? c : a; })
        .Map(
            [](const std::string&, const WindowResult<SellerPrice>& r) {
              return std::pair(std::to_string(r.value.seller), r.value);
            },
            "q6-by-seller")
        .WithSerdes({.value = SellerPriceSerde()})
        .GroupByKey()
        .Aggregate(
            "q6-seller-last-auctions", [] { return Q6Last{}; },
            [](const std::string&, const SellerPrice& c, const Q6Last& last) {
              Q6Last l = last;
              Q6Entry e{c.expires, c.auction, c.price};
              l.insert(std::upper_bound(l.begin(), l.end(), e), e);
              if (l.size() > kQ6Auctions) l.erase(l.begin());
              return l;
            },
            Q6LastSerde())
        .ToStream("q6-updates")
        .Map(
            [](const std::string& seller, const Q6Last& l) {
              int64_t sum = 0;
              for (const Q6Entry& e : l) sum += e.price;
              const auto n = static_cast<int64_t>(l.size());
              return std::pair(seller, JsonWriter()
                                           .Add("seller", static_cast<int64_t>(std::stoll(seller)))
                                           .Add("avg_price", sum / n)
                                           .Add("auctions", n)
                                           .Finish());
            },
            "q6-json")
        .To(out, "q6-sink");
  } else if (q == "q5") {
    auto counts = Bids(b, o)
                      .GroupByKey()
                      .WindowedBy(Windows::Hopping(seconds(10), seconds(2)))
                      .Count("q5-bids-per-auction");
    TopNPerWindow(counts, "q5-hottest", 1,
                  [](const WindowResult<int64_t>& a, const WindowResult<int64_t>& c) {
                    return a.value > c.value;
                  })
        .Map(
            [](const int64_t& start,
               const WindowResult<std::vector<std::pair<std::string, int64_t>>>& r) {
              return std::pair(
                  std::to_string(start),
                  JsonWriter()
                      .Add("window_start", r.start)
                      .Add("window_end", r.end)
                      .Add("auction", static_cast<int64_t>(std::stoll(r.value.front().first)))
                      .Add("bids", r.value.front().second)
                      .Finish());
            },
            "q5-json")
        .To(out, "q5-sink");
  } else if (q == "q7") {
    Bids(b, o)
        // Through the repartition topic and the window store as BidRecordSerde, not JSON.
        .WithSerdes({.value = BidRecordSerde()})
        .KeyBy([](const std::string&,
                  const Bid& x) { return std::to_string(x.date_time / 10000 * 10000); },
               "q7-by-window")
        .GroupByKey()
        .WindowedBy(Windows::Tumbling(seconds(10)))
        .Reduce("q7-highest", [](const Bid& a, const Bid& x) { return BidBefore(x, a) ? x : a; })
        .Map(
            [](const std::string& k, const WindowResult<Bid>& r) {
              return std::pair(k, JsonWriter()
                                      .Add("window_start", r.start)
                                      .Add("window_end", r.end)
                                      .Add("auction", r.value.auction)
                                      .Add("bidder", r.value.bidder)
                                      .Add("price", r.value.price)
                                      .Add("date_time", r.value.date_time)
                                      .Finish());
            },
            "q7-json")
        .To(out, "q7-sink");
  } else if (q == "q8") {
    auto persons = Persons(b, o).Map(
        [](const std::string&, const Person& p) {
          return std::pair(std::to_string(p.id), Q8State{true, p.name, 0});
        },
        "q8-person");
    auto auctions = Auctions(b, o).Map(
        [](const std::string&, const Auction& a) {
          return std::pair(std::to_string(a.seller), Q8State{false, "", 1});
        },
        "q8-auction");
    persons.Merge(auctions, "q8-merge")
        .WithSerdes({.value = Q8Serde()})
        .GroupByKey()
        .WindowedBy(Windows::Tumbling(seconds(10)))
        .Aggregate(
            "q8-windows", [] { return Q8State{}; },
            [](const std::string&, const Q8State& e, const Q8State& s) {
              Q8State n = s;
              if (e.person) {
                n.person = true;
                n.name = e.name;
              }
              n.auctions += e.auctions;
              return n;
            },
            Q8Serde())
        .Filter(
            [](const std::string&, const WindowResult<Q8State>& r) {
              return r.value.person && r.value.auctions > 0;
            },
            "q8-new-sellers")
        .Map(
            [](const std::string& id, const WindowResult<Q8State>& r) {
              return std::pair(id, JsonWriter()
                                       .Add("id", static_cast<int64_t>(std::stoll(id)))
                                       .Add("name", r.value.name)
                                       .Add("window_start", r.start)
                                       .Add("window_end", r.end)
                                       .Add("auctions", r.value.auctions)
                                       .Finish());
            },
            "q8-json")
        .To(out, "q8-sink");
  } else {
    return InvalidArgument("unknown NEXMark query '{}'; the supported queries are {}", q,
                           fmt::join(NexmarkQueries(), ", "));
  }
  return Status::Ok();
}

}  // namespace sluice::examples

namespace sluice {

template <typename T, typename P>
static SerdePtr<T> JsonSerdeOf(const char* name, P parse) {
  return MakeSerde<T>(
      name, [](const T& v, std::string* out) { examples::ToJson(v, out); },
      [parse](std::string_view b, T* out) -> Status {
        SLUICE_ASSIGN_OR_RETURN(*out, parse(b));
        return Status::Ok();
      });
}

SerdePtr<examples::Person> SerdeFor<examples::Person>::Get() {
  static const auto s = JsonSerdeOf<examples::Person>(
      "person-json", [](std::string_view b) { return examples::ParsePerson(b); });
  return s;
}
SerdePtr<examples::Auction> SerdeFor<examples::Auction>::Get() {
  static const auto s = JsonSerdeOf<examples::Auction>(
      "auction-json", [](std::string_view b) { return examples::ParseAuction(b); });
  return s;
}
SerdePtr<examples::Bid> SerdeFor<examples::Bid>::Get() {
  static const auto s = JsonSerdeOf<examples::Bid>(
      "bid-json", [](std::string_view b) { return examples::ParseBid(b); });
  return s;
}

}  // namespace sluice
