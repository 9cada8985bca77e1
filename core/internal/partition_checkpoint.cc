#include "core/internal/partition_checkpoint.h"

#include "core/crc32c.h"
#include "core/segment_format.h"
#include "core/varint.h"

namespace sluice::internal {

// Layout: BE32 magic, u8 version, BE64 log start offset, BE64 recovery point, producer state
// (ProducerStateTable::EncodeTo), transaction index (TxnIndex::EncodeTo; version 2 on), BE32
// CRC-32C of everything before it. Version 1 (no transaction index) is still read.
std::string PartitionCheckpoint::Encode() const {
  std::string out(21, '\0');
  varint::PutBE32(out.data(), segment_format::kCheckpointMagic);
  out[4] = static_cast<char>(segment_format::kCheckpointVersion);
  varint::PutBE64(out.data() + 5, static_cast<uint64_t>(log_start_offset.value()));
  varint::PutBE64(out.data() + 13, static_cast<uint64_t>(recovery_point.value()));
  producers.EncodeTo(&out);
  txn.EncodeTo(&out);
  char crc[4];
  varint::PutBE32(crc, crc32c::Value(out));
  out.append(crc, 4);
  return out;
}

Result<PartitionCheckpoint> PartitionCheckpoint::Decode(std::string_view bytes) {
  if (bytes.size() < 25) return Corruption("recovery-point file is truncated");
  uint32_t stored = varint::GetBE32(bytes.data() + bytes.size() - 4);
  std::string_view body = bytes.substr(0, bytes.size() - 4);
  if (crc32c::Value(body) != stored) return Corruption("recovery-point file fails its CRC check");
  if (varint::GetBE32(body.data()) != segment_format::kCheckpointMagic) {
    return Corruption("recovery-point file has the wrong magic number");
  }
  const uint8_t version = static_cast<uint8_t>(body[4]);
  if (version != segment_format::kCheckpointVersion && version != 1) {
    return Corruption("recovery-point file has unknown version {}", static_cast<int>(body[4]));
  }
  PartitionCheckpoint c;
  c.log_start_offset = Offset(static_cast<int64_t>(varint::GetBE64(body.data() + 5)));
  c.recovery_point = Offset(static_cast<int64_t>(varint::GetBE64(body.data() + 13)));
  std::string_view rest = body.substr(21);
  SLUICE_ASSIGN_OR_RETURN(c.producers, ProducerStateTable::DecodeFrom(&rest));
  if (version == 1) {
    c.txn_known = false;
  } else {
    SLUICE_ASSIGN_OR_RETURN(c.txn, TxnIndex::DecodeFrom(&rest));
  }
  if (!rest.empty()) return Corruption("recovery-point file has {} stray bytes", rest.size());
  if (c.log_start_offset.value() < 0 || c.recovery_point < c.log_start_offset) {
    return Corruption("recovery-point file has log start {} above recovery point {}",
                      c.log_start_offset, c.recovery_point);
  }
  return c;
}

}  // namespace sluice::internal
