// NEXMark queries over the topics `sluice gen nexmark` writes (examples/nexmark.h), as jobs:
//
//   q0  pass-through: every bid, re-encoded                       key = auction
//   q1  currency conversion: {"auction","bidder","price" (euros = 0.908 * dollars),"date_time"}
//   q2  selection: bids of auctions whose id % 123 == 0: {"auction","price"}
//   q3  local item suggestion: persons in OR, ID or CA who sell an auction of category 10:
//       {"name","city","state","id" (auction)}; a windowed join of persons and auctions by
//       seller within one day (NEXMark's q3 is an unbounded join; the day bounds the state)
//   q4  average winning price per category: each auction's highest bid placed between its
//       start and its expiry, averaged (integer division) per category, updated as auctions
//       close: {"category","avg_price","auctions"}                key = category
//   q5  hot items: per 10-second window sliding every 2 seconds, the auction with the most bids
//       (ties: the smaller key, as text): {"window_start","window_end","auction","bids"}
//   q6  average selling price by seller: the winning bids (as in q4) of each seller's 10 most
//       recently closed auctions (by expiry, then auction id), averaged (integer division),
//       updated as auctions close: {"seller","avg_price","auctions"} key = seller
//   q7  highest bid per 10-second tumbling window (ties: smaller auction, then bidder, then
//       date_time): {"window_start","window_end","auction","bidder","price","date_time"};
//       bids reach the window through a repartition topic in BidRecordSerde's encoding
//   q8  new users who opened auctions: persons who created an auction in the same 10-second
//       tumbling window they registered in: {"id","name","window_start","window_end","auctions"}
//
// Output topic "nexmark-<query>"; unparsable records, bad times and records keyed otherwise than
// the generator keys them go to "nexmark-dead-letters" with the reason.
#pragma once

#include <string>
#include <vector>

#include "core/status.h"
#include "examples/nexmark.h"
#include "operators/topology_builder.h"

namespace sluice::examples {

struct NexmarkQueryOptions {
  std::string query = "q0";
  std::string persons = "persons";
  std::string auctions = "auctions";
  std::string bids = "bids";
  std::string output;  // "" = "nexmark-" + query
  std::string dead_letter_topic = "nexmark-dead-letters";
};

// The queries this file implements.
const std::vector<std::string>& NexmarkQueries();
// The topics query `q` reads (in the options' names).
std::vector<std::string> NexmarkInputs(const NexmarkQueryOptions& o);
std::string NexmarkOutput(const NexmarkQueryOptions& o);
// kInvalidArgument naming the supported queries if o.query is not one of them.
Status AddNexmarkQuery(TopologyBuilder& builder, const NexmarkQueryOptions& o);

// A compact binary encoding of a Bid (a version byte, four big-endian int64s, then channel,
// url and extra as varint-length strings) for q7's internal repartition topic and window store: the
// bids cross them twice per record, and JSON there cost more than the query itself.
SerdePtr<Bid> BidRecordSerde();

// Converted price of q1.
inline double DollarsToEuros(int64_t price) { return 0.908 * static_cast<double>(price); }

}  // namespace sluice::examples

template <>
struct sluice::SerdeFor<sluice::examples::Person> {
  static sluice::SerdePtr<sluice::examples::Person> Get();
};
template <>
struct sluice::SerdeFor<sluice::examples::Auction> {
  static sluice::SerdePtr<sluice::examples::Auction> Get();
};
template <>
struct sluice::SerdeFor<sluice::examples::Bid> {
  static sluice::SerdePtr<sluice::examples::Bid> Get();
};
