#include "core/record_batch.h"

#include <algorithm>
#include <cstring>

#include "core/crc32c.h"
#include "core/varint.h"

namespace sluice {

using namespace batch_format;
using varint::GetBE16;
using varint::GetBE32;
using varint::GetBE64;

namespace {
// Records with a body up to this size are encoded in place (see Add).
constexpr int64_t kInPlaceLimit = 256;

// The fields of one record after its length, in the v2 order, written through `out`: a sink
// with Varlong(int64_t) and Bytes(optional<string_view>) (a length, -1 for null, then the bytes).
// The size pass and both encodings go through here, so they cannot disagree on the layout.
template <typename Out>
void RecordFields(Out& out, int64_t ts_delta, int64_t index,
                  const std::optional<std::string_view>& key,
                  const std::optional<std::string_view>& value, std::span<const Header> headers) {
  out.Varlong(0);  // record attributes: one zero byte (the varlong of 0)
  out.Varlong(ts_delta);
  out.Varlong(index);
  out.Bytes(key);
  out.Bytes(value);
  out.Varlong(static_cast<int64_t>(headers.size()));
  for (const Header& h : headers) {
    out.Bytes(std::string_view(h.key));
    out.Bytes(h.value ? std::optional<std::string_view>(*h.value) : std::nullopt);
  }
}

struct SizeOut {
  int64_t n = 0;
  void Varlong(int64_t v) { n += varint::VarlongSize(v); }
  void Bytes(std::optional<std::string_view> b) {
    const int64_t len = b ? static_cast<int64_t>(b->size()) : -1;
    n += varint::VarlongSize(len) + std::max<int64_t>(len, 0);
  }
};

struct AppendOut {
  std::string* s;
  void Varlong(int64_t v) { varint::PutVarlong(s, v); }
  void Bytes(std::optional<std::string_view> b) {
    Varlong(b ? static_cast<int64_t>(b->size()) : -1);
    if (b) s->append(*b);
  }
};

struct InPlaceOut {
  char* p;
  void Varlong(int64_t v) { p = varint::EncodeVarlong(p, v); }
  void Bytes(std::optional<std::string_view> b) {
    Varlong(b ? static_cast<int64_t>(b->size()) : -1);
    if (!b || b->empty()) return;
    std::memcpy(p, b->data(), b->size());
    p += b->size();
  }
};
}  // namespace

RecordBatchBuilder::RecordBatchBuilder() { buf_.assign(kHeaderSize, '\0'); }

void RecordBatchBuilder::Add(Timestamp ts, const std::optional<std::string_view>& key,
                             const std::optional<std::string_view>& value,
                             std::span<const Header> headers) {
  int64_t t = ts.value();
  if (count_ == 0) {
    base_ts_ = t;
    max_ts_ = t;
  } else if (t > max_ts_) {
    max_ts_ = t;
  }
  // Body size first, so the length prefix can be written without a second buffer.
  const int64_t ts_delta = t - base_ts_;
  SizeOut size;
  RecordFields(size, ts_delta, count_, key, value, headers);
  const int64_t body = size.n;
  if (body > kInPlaceLimit) {
    // Large records: append field by field; resizing first would zero-fill the value's bytes
    // only to overwrite them.
    buf_.reserve(buf_.size() + body + 10);
    AppendOut out{&buf_};
    out.Varlong(body);
    RecordFields(out, ts_delta, count_, key, value, headers);
  } else {
    // Small records: encode into place, one size check for the record instead of one per field.
    const size_t old_size = buf_.size();
    if (buf_.capacity() < old_size + body + 10) {
      buf_.reserve(std::max(2 * buf_.capacity(), old_size + body + 10));
    }
    buf_.resize(old_size + body + 10);
    InPlaceOut out{buf_.data() + old_size};
    out.Varlong(body);
    RecordFields(out, ts_delta, count_, key, value, headers);
    buf_.resize(static_cast<size_t>(out.p - buf_.data()));
  }
  ++count_;
}

void RecordBatchBuilder::SetProducer(int64_t producer_id, int16_t epoch, int32_t base_sequence) {
  producer_id_ = producer_id;
  producer_epoch_ = epoch;
  base_sequence_ = base_sequence;
}

std::string RecordBatchBuilder::Finish() {
  char* h = buf_.data();
  varint::PutBE64(h + kBaseOffset, 0);
  varint::PutBE32(h + kBatchLength, static_cast<uint32_t>(buf_.size() - kLogOverhead));
  varint::PutBE32(h + kPartitionLeaderEpoch, 0);
  h[kMagic] = kMagicV2;
  varint::PutBE16(h + kAttributes, 0);
  varint::PutBE32(h + kLastOffsetDelta, static_cast<uint32_t>(count_ - 1));
  varint::PutBE64(h + kBaseTimestamp, static_cast<uint64_t>(base_ts_));
  varint::PutBE64(h + kMaxTimestamp, static_cast<uint64_t>(max_ts_));
  varint::PutBE64(h + kProducerId, static_cast<uint64_t>(producer_id_));
  varint::PutBE16(h + kProducerEpoch, static_cast<uint16_t>(producer_epoch_));
  varint::PutBE32(h + kBaseSequence, static_cast<uint32_t>(base_sequence_));
  varint::PutBE32(h + kRecordCount, static_cast<uint32_t>(count_));
  uint32_t crc = crc32c::Value(h + kAttributes, buf_.size() - kAttributes);
  varint::PutBE32(h + kCrc, crc);
  std::string out = std::move(buf_);
  buf_.assign(kHeaderSize, '\0');
  count_ = 0;
  producer_id_ = -1;
  producer_epoch_ = -1;
  base_sequence_ = -1;
  return out;
}

int64_t BatchSizeAt(std::string_view bytes) {
  if (bytes.size() < kLogOverhead) return 0;
  int32_t len = static_cast<int32_t>(GetBE32(bytes.data() + kBatchLength));
  if (len < static_cast<int32_t>(kHeaderSize - kLogOverhead) || len > kMaxBatchBytes) return -1;
  return static_cast<int64_t>(len) + kLogOverhead;
}

void SetBaseOffset(char* batch, Offset base) {
  varint::PutBE64(batch + kBaseOffset, static_cast<uint64_t>(base.value()));
}

Result<RecordBatchView> RecordBatchView::Parse(std::string_view bytes) {
  int64_t size = BatchSizeAt(bytes);
  if (size <= 0) return Corruption("record batch length field is invalid");
  if (static_cast<size_t>(size) != bytes.size()) {
    return Corruption("record batch length {} does not match the {} bytes given", size,
                      bytes.size());
  }
  if (bytes[kMagic] != kMagicV2) {
    return Corruption("record batch magic {} is not 2 (only RecordBatch v2 is supported)",
                      static_cast<int>(bytes[kMagic]));
  }
  return RecordBatchView(bytes);
}

Offset RecordBatchView::base_offset() const {
  return Offset(static_cast<int64_t>(GetBE64(bytes_.data() + kBaseOffset)));
}
int32_t RecordBatchView::last_offset_delta() const {
  return static_cast<int32_t>(GetBE32(bytes_.data() + kLastOffsetDelta));
}
int32_t RecordBatchView::record_count() const {
  return static_cast<int32_t>(GetBE32(bytes_.data() + kRecordCount));
}
uint16_t RecordBatchView::attributes() const { return GetBE16(bytes_.data() + kAttributes); }
Timestamp RecordBatchView::base_timestamp() const {
  return Timestamp(static_cast<int64_t>(GetBE64(bytes_.data() + kBaseTimestamp)));
}
Timestamp RecordBatchView::max_timestamp() const {
  return Timestamp(static_cast<int64_t>(GetBE64(bytes_.data() + kMaxTimestamp)));
}
int64_t RecordBatchView::producer_id() const {
  return static_cast<int64_t>(GetBE64(bytes_.data() + kProducerId));
}
int16_t RecordBatchView::producer_epoch() const {
  return static_cast<int16_t>(GetBE16(bytes_.data() + kProducerEpoch));
}
int32_t RecordBatchView::base_sequence() const {
  return static_cast<int32_t>(GetBE32(bytes_.data() + kBaseSequence));
}
uint32_t RecordBatchView::stored_crc() const { return GetBE32(bytes_.data() + kCrc); }

bool RecordBatchView::CrcMatches() const {
  return crc32c::Value(bytes_.data() + kAttributes, bytes_.size() - kAttributes) == stored_crc();
}

Status RecordBatchView::Validate(OffsetRule rule) const {
  if (!CrcMatches()) {
    return Corruption("record batch at offset {} fails its CRC-32C check", base_offset());
  }
  const int32_t n = record_count();
  const int32_t last_delta = last_offset_delta();
  SLUICE_RETURN_IF_ERROR(offset_rule::CheckCounts(rule, base_offset(), n, last_delta));
  if (compression() != 0) return Status::Ok();  // opaque; the CRC covers it
  RecordView r;
  const char* p = bytes_.data() + kHeaderSize;
  const char* end = bytes_.data() + bytes_.size();
  int32_t prev = -1;
  for (int32_t i = 0; i < n; ++i) {
    SLUICE_RETURN_IF_ERROR(DecodeRecord(&p, end, &r));
    const int32_t delta = static_cast<int32_t>(r.offset - base_offset());
    if (!offset_rule::RecordDeltaOk(rule, i, prev, delta, last_delta)) {
      return Corruption("record {} of batch at offset {} has offset delta {}", i, base_offset(),
                        delta);
    }
    prev = delta;
  }
  if (p != end) {
    return Corruption("record batch at offset {} has {} bytes after its last record", base_offset(),
                      end - p);
  }
  return Status::Ok();
}

Status RecordBatchView::CompressedError() const {
  static constexpr const char* kNames[] = {"none", "gzip", "snappy", "lz4", "zstd", "?", "?", "?"};
  return InvalidArgument(
      "record batch at offset {} is compressed with {}; the embedded reader reads only "
      "uncompressed batches (consume it through a Kafka client via 'sluice serve')",
      base_offset(), kNames[compression()]);
}

Status RecordBatchView::DecodeRecord(const char** pp, const char* end, RecordView* r) const {
  const char* p = *pp;
  int64_t len, ts_delta;
  int32_t off_delta, klen, vlen, hcount;
  auto bad = [&](const char* what) {
    return Corruption("record batch at offset {}: malformed record ({})", base_offset(), what);
  };
  if (!varint::GetVarlong(&p, end, &len, 5)) return bad("length");
  if (len < 0 || len > end - p) return bad("length past the end of the batch");
  const char* rend = p + len;
  if (p >= rend) return bad("empty record");
  ++p;  // attributes
  if (!varint::GetVarlong(&p, rend, &ts_delta)) return bad("timestamp delta");
  if (!varint::GetVarint(&p, rend, &off_delta)) return bad("offset delta");
  if (!varint::GetVarint(&p, rend, &klen) || klen < -1 || klen > rend - p) return bad("key length");
  r->has_key = klen >= 0;
  r->key = r->has_key ? std::string_view(p, klen) : std::string_view();
  if (klen > 0) p += klen;
  if (!varint::GetVarint(&p, rend, &vlen) || vlen < -1 || vlen > rend - p) {
    return bad("value length");
  }
  r->has_value = vlen >= 0;
  r->value = r->has_value ? std::string_view(p, vlen) : std::string_view();
  if (vlen > 0) p += vlen;
  if (!varint::GetVarint(&p, rend, &hcount) || hcount < 0 || hcount > rend - p) {
    return bad("header count");
  }
  r->header_count = hcount;
  r->header_bytes = std::string_view(p, rend - p);
  r->offset = base_offset() + off_delta;
  r->timestamp = (attributes() & kTimestampTypeBit) ? max_timestamp() : base_timestamp() + ts_delta;
  *pp = rend;
  return Status::Ok();
}

Result<std::vector<Header>> RecordView::ParseHeaders() const {
  std::vector<Header> out;
  const char* p = header_bytes.data();
  const char* end = p + header_bytes.size();
  for (int32_t i = 0; i < header_count; ++i) {
    int32_t klen, vlen;
    if (!varint::GetVarint(&p, end, &klen) || klen < 0 || klen > end - p) {
      return Corruption("malformed header key at offset {}", offset);
    }
    Header h;
    h.key.assign(p, klen);
    p += klen;
    if (!varint::GetVarint(&p, end, &vlen) || vlen < -1 || vlen > end - p) {
      return Corruption("malformed header value at offset {}", offset);
    }
    if (vlen >= 0) {
      h.value = std::string(p, vlen);
      p += vlen;
    }
    out.push_back(std::move(h));
  }
  return out;
}

}  // namespace sluice
