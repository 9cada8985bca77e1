// RecordBatch v2: building batches from records and reading records out of stored batch bytes.
//
// The log stores batches byte for byte as the Kafka protocol carries them (see
// record_batch_format.h), so the server appends and fetches without re-encoding.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/offset_rule.h"
#include "core/record_batch_format.h"
#include "core/status.h"
#include "core/types.h"

namespace sluice {

// A record header: key and optional value.
struct Header {
  std::string key;
  std::optional<std::string> value;
  bool operator==(const Header&) const = default;
};

// A record to append. Null key or value is std::nullopt.
struct Record {
  std::optional<std::string> key;
  std::optional<std::string> value;
  Timestamp timestamp = kNoTimestamp;  // kNoTimestamp: the producer stamps Now()
  std::vector<Header> headers;
};

// A record read from the log. The views point into the buffer the batch was read into and
// stay valid as long as that buffer (see ConsumerRecords).
struct RecordView {
  Offset offset;
  Timestamp timestamp;
  bool has_key = false;
  bool has_value = false;
  std::string_view key;
  std::string_view value;
  int32_t header_count = 0;
  std::string_view header_bytes;  // raw encoded headers; decode with ParseHeaders

  std::optional<std::string_view> key_opt() const {
    return has_key ? std::optional(key) : std::nullopt;
  }
  std::optional<std::string_view> value_opt() const {
    return has_value ? std::optional(value) : std::nullopt;
  }
  // Decodes the headers.
  Result<std::vector<Header>> ParseHeaders() const;
};

// Accumulates records into one uncompressed v2 batch. Not thread-safe.
class RecordBatchBuilder {
 public:
  RecordBatchBuilder();
  // Appends a record. Timestamps are stored as deltas from the first record's. (Key and value by
  // reference: passed by value, the caller built each on the stack in two 8-byte stores and the
  // call copied it with one 16-byte load, a store-forwarding stall that cost 6% of a pipeline.)
  void Add(Timestamp ts, const std::optional<std::string_view>& key,
           const std::optional<std::string_view>& value, std::span<const Header> headers = {});
  // Marks the batch as idempotent: producer id, epoch and first sequence.
  void SetProducer(int64_t producer_id, int16_t epoch, int32_t base_sequence);
  int32_t record_count() const { return count_; }
  bool empty() const { return count_ == 0; }
  // Bytes the finished batch will take.
  size_t size_bytes() const { return buf_.size(); }
  // Returns the finished batch (baseOffset 0, CRC set) and resets the builder.
  std::string Finish();

 private:
  std::string buf_;
  int32_t count_ = 0;
  int64_t base_ts_ = 0;
  int64_t max_ts_ = 0;
  int64_t producer_id_ = -1;
  int16_t producer_epoch_ = -1;
  int32_t base_sequence_ = -1;
};

// A read-only view of one batch's bytes. Cheap to copy; does not own the bytes.
class RecordBatchView {
 public:
  RecordBatchView() = default;
  // Wraps `bytes`, which must hold exactly one whole batch (see BatchSizeAt). Checks the
  // length field and magic, not the CRC.
  static Result<RecordBatchView> Parse(std::string_view bytes);

  // Checks CRC-32C, the record count against lastOffsetDelta, and (for uncompressed batches)
  // that every record decodes within the batch bounds with offsets as `rule` allows (see
  // core/offset_rule.h: dense for a producer's batch, gaps allowed for a stored one). Returns
  // kCorruption naming the fault.
  Status Validate(OffsetRule rule = OffsetRule::kNewAppend) const;
  bool CrcMatches() const;

  std::string_view bytes() const { return bytes_; }
  size_t size() const { return bytes_.size(); }
  Offset base_offset() const;
  Offset last_offset() const { return base_offset() + last_offset_delta(); }
  int32_t last_offset_delta() const;
  int32_t record_count() const;
  uint16_t attributes() const;
  int compression() const { return attributes() & batch_format::kCompressionMask; }
  bool is_control() const { return attributes() & batch_format::kControlBit; }
  Timestamp base_timestamp() const;
  Timestamp max_timestamp() const;
  int64_t producer_id() const;
  int16_t producer_epoch() const;
  int32_t base_sequence() const;
  uint32_t stored_crc() const;

  // A position among the records, for readers that stop part-way through a batch and resume
  // later without decoding the records before it again (a default Cursor is the first record).
  struct Cursor {
    size_t byte = batch_format::kHeaderSize;
    int32_t index = 0;
  };
  bool AtEnd(const Cursor& c) const { return c.index >= record_count(); }
  // Decodes the record at `c` into `*r` and moves `c` to the next one. REQUIRES: !AtEnd(*c).
  // Malformed records give kCorruption; compressed batches kInvalidArgument naming the codec.
  Status Next(Cursor* c, RecordView* r) const {
    if (compression() != 0) return CompressedError();
    const char* p = bytes_.data() + c->byte;
    SLUICE_RETURN_IF_ERROR(DecodeRecord(&p, bytes_.data() + bytes_.size(), r));
    c->byte = static_cast<size_t>(p - bytes_.data());
    ++c->index;
    return Status::Ok();
  }

  // As Next, but false instead of an error (a compressed batch, a malformed record), so that a
  // hot loop pays for no second Status; call Next to learn the error.
  bool TryNext(Cursor* c, RecordView* r) const {
    if (compression() != 0) return false;
    const char* p = bytes_.data() + c->byte;
    if (!DecodeRecord(&p, bytes_.data() + bytes_.size(), r).ok()) return false;
    c->byte = static_cast<size_t>(p - bytes_.data());
    ++c->index;
    return true;
  }

  // Decodes the records in order and calls fn(const RecordView&) for each; stops at the first
  // malformed record with kCorruption. Compressed batches return kInvalidArgument naming the codec.
  template <typename Fn>
  Status ForEachRecord(Fn&& fn) const {
    RecordView r;
    const char* p = bytes_.data() + batch_format::kHeaderSize;
    const char* end = bytes_.data() + bytes_.size();
    if (compression() != 0) return CompressedError();
    int32_t n = record_count();
    for (int32_t i = 0; i < n; ++i) {
      SLUICE_RETURN_IF_ERROR(DecodeRecord(&p, end, &r));
      fn(static_cast<const RecordView&>(r));
    }
    return Status::Ok();
  }

 private:
  friend class BatchCursor;  // frames batches itself
  explicit RecordBatchView(std::string_view b) : bytes_(b) {}
  Status DecodeRecord(const char** p, const char* end, RecordView* r) const;
  Status CompressedError() const;
  std::string_view bytes_;
};

// Writes `base` into the batch's baseOffset field (bytes 0..7). The CRC does not cover it.
void SetBaseOffset(char* batch, Offset base);

// Given bytes starting at a batch boundary: returns the whole batch size if at least the
// 12-byte prefix is present and its length is sane; 0 if fewer than 12 bytes; -1 if the
// length field is impossible (negative, below the header, or above kMaxBatchBytes).
int64_t BatchSizeAt(std::string_view bytes);

}  // namespace sluice
