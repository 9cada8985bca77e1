// ValidatedBatch: a RecordBatch v2 that has passed the checks an append needs. The type is the
// proof: only Validate (which checks) and FromBuilder (whose batch is valid by construction)
// create one, so Partition::Append cannot be handed unchecked bytes, and a batch checked once
// (the server checks each produced batch when it splits the request) is not checked again.
//
// Validate checks: exactly one whole batch, magic 2, CRC-32C, the record count against
// lastOffsetDelta, every record decoding inside the batch, and record offsets as `rule` allows
// (core/offset_rule.h; dense for a producer's batch). It does not check what depends on the
// partition: the size limit, control batches, producer sequences (Partition::Append does).
//
// Does not own the bytes: they must outlive the ValidatedBatch and stay unchanged. Cheap to copy.
#pragma once

#include <string>
#include <string_view>

#include "core/offset_rule.h"
#include "core/record_batch.h"
#include "core/status.h"

namespace sluice {

class ValidatedBatch {
 public:
  // Checks `bytes` (see above); kCorruption names the fault.
  static Result<ValidatedBatch> Validate(std::string_view bytes,
                                         OffsetRule rule = OffsetRule::kNewAppend);
  // Finishes `builder`'s batch into *storage (replacing it) and returns it: a batch this process
  // just encoded needs no CRC or record pass. REQUIRES: !builder->empty().
  static ValidatedBatch FromBuilder(RecordBatchBuilder* builder, std::string* storage);

  const RecordBatchView& view() const { return view_; }
  std::string_view bytes() const { return view_.bytes(); }
  size_t size() const { return view_.size(); }

 private:
  friend class Partition;  // Partition::AppendTrusted, until runtime/ uses FromBuilder
  explicit ValidatedBatch(const RecordBatchView& view) : view_(view) {}
  RecordBatchView view_;
};

}  // namespace sluice
