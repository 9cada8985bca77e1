#include "core/validated_batch.h"

namespace sluice {

Result<ValidatedBatch> ValidatedBatch::Validate(std::string_view bytes, OffsetRule rule) {
  SLUICE_ASSIGN_OR_RETURN(RecordBatchView view, RecordBatchView::Parse(bytes));
  SLUICE_RETURN_IF_ERROR(view.Validate(rule));
  return ValidatedBatch(view);
}

ValidatedBatch ValidatedBatch::FromBuilder(RecordBatchBuilder* builder, std::string* storage) {
  SLUICE_CHECK(!builder->empty());
  *storage = builder->Finish();
  // The builder wrote the length and magic itself, so the parse cannot fail.
  return ValidatedBatch(RecordBatchView::Parse(*storage).value());
}

}  // namespace sluice
