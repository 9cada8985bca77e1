#include "runtime/commit_format.h"

#include <fmt/format.h>

#include "core/varint.h"

namespace sluice {
namespace {

constexpr char kCheckpointFormat = 'C';
constexpr char kMarkFormat = 'M';
constexpr char kOutboxFormat = 'O';

}  // namespace

void PutString(std::string* out, std::string_view s) {
  varint::PutVarlong(out, static_cast<int64_t>(s.size()));
  out->append(s);
}

void PutOptString(std::string* out, const std::optional<std::string>& s) {
  if (s) {
    PutString(out, *s);
  } else {
    varint::PutVarlong(out, -1);
  }
}

bool ValueReader::Long(int64_t* v) { return varint::GetVarlong(&p_, end_, v); }

bool ValueReader::Int(int32_t* v) {
  int64_t x;
  if (!Long(&x) || x < INT32_MIN || x > INT32_MAX) return false;
  *v = static_cast<int32_t>(x);
  return true;
}

bool ValueReader::String(std::string* s) {
  int64_t n;
  if (!Long(&n) || n < 0 || n > end_ - p_) return false;
  s->assign(p_, static_cast<size_t>(n));
  p_ += n;
  return true;
}

bool ValueReader::OptString(std::optional<std::string>* s) {
  int64_t n;
  if (!Long(&n) || n < -1 || n > end_ - p_) return false;
  if (n == -1) {
    s->reset();
    return true;
  }
  s->emplace(p_, static_cast<size_t>(n));
  p_ += n;
  return true;
}

bool ValueReader::Byte(char* c) {
  if (p_ >= end_) return false;
  *c = *p_++;
  return true;
}

std::string CheckpointKey(TaskId t) { return fmt::format("ckpt/{}/{}", t.stage, t.partition); }
std::string MarkKey(TaskId t) { return fmt::format("mark/{}/{}", t.stage, t.partition); }
std::string OutboxPrefix(TaskId t) { return fmt::format("outbox/{}/{}/", t.stage, t.partition); }
std::string OutboxKey(TaskId t, int64_t n) { return fmt::format("{}{:016}", OutboxPrefix(t), n); }

std::string EncodeCheckpoint(const TaskCheckpoint& c) {
  std::string out(1, kCheckpointFormat);
  varint::PutVarlong(&out, c.commit_number);
  varint::PutVarlong(&out, c.producer_id);
  varint::PutVarlong(&out, static_cast<int64_t>(c.inputs.size()));
  for (const auto& in : c.inputs) {
    PutString(&out, in.topic);
    varint::PutVarlong(&out, in.partition);
    varint::PutVarlong(&out, in.next_offset);
  }
  varint::PutVarlong(&out, static_cast<int64_t>(c.outputs.size()));
  for (const auto& o : c.outputs) {
    PutString(&out, o.topic);
    varint::PutVarlong(&out, o.partition);
    varint::PutVarlong(&out, o.next_sequence);
  }
  return out;
}

Result<TaskCheckpoint> DecodeCheckpoint(std::string_view bytes) {
  ValueReader r(bytes);
  TaskCheckpoint c;
  char format;
  auto bad = [](std::string_view what) {
    return Corruption(
        "task checkpoint in the state directory is malformed ({}); the state "
        "cannot be trusted: reset the job with `sluice job reset`",
        what);
  };
  if (!r.Byte(&format) || format != kCheckpointFormat) return bad("unknown format byte");
  int64_t n;
  if (!r.Long(&c.commit_number) || !r.Long(&c.producer_id) || !r.Long(&n) || n < 0 || n > 100000) {
    return bad("header");
  }
  for (int64_t i = 0; i < n; ++i) {
    TaskCheckpoint::Input in;
    if (!r.String(&in.topic) || !r.Int(&in.partition) || !r.Long(&in.next_offset)) {
      return bad("input offsets");
    }
    c.inputs.push_back(std::move(in));
  }
  if (!r.Long(&n) || n < 0 || n > 100000) return bad("output count");
  for (int64_t i = 0; i < n; ++i) {
    TaskCheckpoint::Output o;
    if (!r.String(&o.topic) || !r.Int(&o.partition) || !r.Int(&o.next_sequence)) {
      return bad("output sequences");
    }
    c.outputs.push_back(std::move(o));
  }
  if (!r.done()) return bad("trailing bytes");
  return c;
}

std::string EncodeMark(int64_t commit_number) {
  std::string out(1, kMarkFormat);
  varint::PutVarlong(&out, commit_number);
  return out;
}

Result<int64_t> DecodeMark(std::string_view bytes) {
  ValueReader r(bytes);
  char format;
  int64_t n;
  if (!r.Byte(&format) || format != kMarkFormat || !r.Long(&n) || !r.done()) {
    return Corruption("task commit mark in the state directory is malformed");
  }
  return n;
}

std::string EncodeOutboxEntry(const OutboxEntry& e) {
  std::string out(1, kOutboxFormat);
  PutString(&out, e.topic);
  varint::PutVarlong(&out, e.partition);
  out.append(e.batch);
  return out;
}

Result<OutboxEntry> DecodeOutboxEntry(std::string_view bytes) {
  ValueReader r(bytes);
  OutboxEntry e;
  char format;
  if (!r.Byte(&format) || format != kOutboxFormat || !r.String(&e.topic) || !r.Int(&e.partition)) {
    return Corruption("outbox entry in the state directory is malformed");
  }
  e.batch.assign(r.Rest());
  if (e.batch.empty()) return Corruption("outbox entry in the state directory has no batch");
  return e;
}

}  // namespace sluice
