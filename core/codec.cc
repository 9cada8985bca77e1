#include "core/codec.h"

#include <lz4frame.h>
#include <snappy.h>
#include <zlib.h>
#include <zstd.h>

#include <algorithm>
#include <cstring>
#include <memory>

#include "core/varint.h"

namespace sluice::codec {
namespace {

constexpr char kXerialMagic[8] = {'\x82', 'S', 'N', 'A', 'P', 'P', 'Y', '\0'};
constexpr size_t kXerialHeader = 16;        // magic, version (BE32), compatible version (BE32)
constexpr size_t kXerialBlock = 32 * 1024;  // snappy-java's default block size
constexpr size_t kChunk = 64 * 1024;

Status TooLarge(const char* name, size_t max_bytes) {
  return Corruption("{} data decompresses to more than {} bytes (the limit for one batch)", name,
                    max_bytes);
}

// Grows *out by up to kChunk (never past max_bytes + 1, so that overflow is seen) and returns
// the writable span.
std::pair<char*, size_t> Grow(std::string* out, size_t start, size_t max_bytes) {
  const size_t used = out->size();
  const size_t room = std::min(kChunk, start + max_bytes + 1 - used);
  out->resize(used + room);
  return {out->data() + used, room};
}

Status GzipDecompress(std::string_view in, size_t max_bytes, std::string* out) {
  z_stream z{};
  if (inflateInit2(&z, 15 + 32) != Z_OK) return Corruption("gzip: cannot initialise zlib");
  std::unique_ptr<z_stream, int (*)(z_stream*)> guard(&z, inflateEnd);
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  z.avail_in = static_cast<uInt>(in.size());
  const size_t start = out->size();
  while (true) {
    auto [p, room] = Grow(out, start, max_bytes);
    z.next_out = reinterpret_cast<Bytef*>(p);
    z.avail_out = static_cast<uInt>(room);
    const int rc = inflate(&z, Z_NO_FLUSH);
    out->resize(out->size() - z.avail_out);
    if (out->size() - start > max_bytes) return TooLarge("gzip", max_bytes);
    if (rc == Z_STREAM_END) {
      if (z.avail_in != 0)
        return Corruption("gzip: {} bytes after the end of the stream", z.avail_in);
      return Status::Ok();
    }
    if (rc != Z_OK) {
      return Corruption("gzip: malformed data ({})", z.msg != nullptr ? z.msg : "truncated");
    }
    if (z.avail_in == 0 && z.avail_out != 0) return Corruption("gzip: truncated stream");
  }
}

Status GzipCompress(std::string_view in, std::string* out) {
  z_stream z{};
  if (deflateInit2(&z, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK) {
    return InvalidArgument("gzip: cannot initialise zlib");
  }
  std::unique_ptr<z_stream, int (*)(z_stream*)> guard(&z, deflateEnd);
  const size_t start = out->size();
  out->resize(start + deflateBound(&z, in.size()));
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  z.avail_in = static_cast<uInt>(in.size());
  z.next_out = reinterpret_cast<Bytef*>(out->data() + start);
  z.avail_out = static_cast<uInt>(out->size() - start);
  if (deflate(&z, Z_FINISH) != Z_STREAM_END) return InvalidArgument("gzip: compression failed");
  out->resize(out->size() - z.avail_out);
  return Status::Ok();
}

Status SnappyRaw(std::string_view in, size_t max_bytes, size_t* budget, std::string* out) {
  size_t n = 0;
  if (!snappy::GetUncompressedLength(in.data(), in.size(), &n)) {
    return Corruption("snappy: malformed block");
  }
  if (n > *budget) return TooLarge("snappy", max_bytes);
  const size_t used = out->size();
  out->resize(used + n);
  if (!snappy::RawUncompress(in.data(), in.size(), out->data() + used)) {
    return Corruption("snappy: malformed block");
  }
  *budget -= n;
  return Status::Ok();
}

Status SnappyDecompress(std::string_view in, size_t max_bytes, std::string* out) {
  size_t budget = max_bytes;
  if (in.size() < kXerialHeader || std::memcmp(in.data(), kXerialMagic, 8) != 0) {
    return SnappyRaw(in, max_bytes, &budget, out);
  }
  in.remove_prefix(kXerialHeader);
  while (!in.empty()) {
    if (in.size() < 4) return Corruption("snappy: truncated block length");
    const uint32_t len = varint::GetBE32(in.data());
    in.remove_prefix(4);
    if (len > in.size()) return Corruption("snappy: block of {} bytes past the end", len);
    SLUICE_RETURN_IF_ERROR(SnappyRaw(in.substr(0, len), max_bytes, &budget, out));
    in.remove_prefix(len);
  }
  return Status::Ok();
}

Status SnappyCompress(std::string_view in, std::string* out) {
  out->append(kXerialMagic, 8);
  char v[8];
  varint::PutBE32(v, 1);      // version
  varint::PutBE32(v + 4, 1);  // minimum compatible version
  out->append(v, 8);
  for (size_t at = 0; at < in.size(); at += kXerialBlock) {
    const std::string_view block = in.substr(at, kXerialBlock);
    const size_t len_at = out->size();
    out->resize(len_at + 4 + snappy::MaxCompressedLength(block.size()));
    size_t n = 0;
    snappy::RawCompress(block.data(), block.size(), out->data() + len_at + 4, &n);
    varint::PutBE32(out->data() + len_at, static_cast<uint32_t>(n));
    out->resize(len_at + 4 + n);
  }
  return Status::Ok();
}

Status Lz4Decompress(std::string_view in, size_t max_bytes, std::string* out) {
  LZ4F_dctx* ctx = nullptr;
  if (LZ4F_isError(LZ4F_createDecompressionContext(&ctx, LZ4F_VERSION))) {
    return Corruption("lz4: cannot create a decompression context");
  }
  std::unique_ptr<LZ4F_dctx, LZ4F_errorCode_t (*)(LZ4F_dctx*)> guard(ctx,
                                                                     LZ4F_freeDecompressionContext);
  const size_t start = out->size();
  const char* src = in.data();
  size_t left = in.size();
  while (true) {
    auto [p, room] = Grow(out, start, max_bytes);
    size_t dst_size = room;
    size_t src_size = left;
    const size_t hint = LZ4F_decompress(ctx, p, &dst_size, src, &src_size, nullptr);
    out->resize(out->size() - room + dst_size);
    if (LZ4F_isError(hint)) return Corruption("lz4: {}", LZ4F_getErrorName(hint));
    if (out->size() - start > max_bytes) return TooLarge("lz4", max_bytes);
    src += src_size;
    left -= src_size;
    if (hint == 0) {
      if (left != 0) return Corruption("lz4: {} bytes after the end of the frame", left);
      return Status::Ok();
    }
    if (left == 0 && dst_size == 0) return Corruption("lz4: truncated frame");
  }
}

Status Lz4Compress(std::string_view in, std::string* out) {
  LZ4F_preferences_t prefs{};
  prefs.frameInfo.blockSizeID = LZ4F_max64KB;
  prefs.frameInfo.blockMode = LZ4F_blockIndependent;
  const size_t start = out->size();
  out->resize(start + LZ4F_compressFrameBound(in.size(), &prefs));
  const size_t n =
      LZ4F_compressFrame(out->data() + start, out->size() - start, in.data(), in.size(), &prefs);
  if (LZ4F_isError(n)) return InvalidArgument("lz4: {}", LZ4F_getErrorName(n));
  out->resize(start + n);
  return Status::Ok();
}

Status ZstdDecompress(std::string_view in, size_t max_bytes, std::string* out) {
  ZSTD_DCtx* ctx = ZSTD_createDCtx();
  if (ctx == nullptr) return Corruption("zstd: cannot create a decompression context");
  std::unique_ptr<ZSTD_DCtx, size_t (*)(ZSTD_DCtx*)> guard(ctx, ZSTD_freeDCtx);
  ZSTD_inBuffer src{in.data(), in.size(), 0};
  const size_t start = out->size();
  while (true) {
    auto [p, room] = Grow(out, start, max_bytes);
    ZSTD_outBuffer dst{p, room, 0};
    const size_t rc = ZSTD_decompressStream(ctx, &dst, &src);
    out->resize(out->size() - room + dst.pos);
    if (ZSTD_isError(rc)) return Corruption("zstd: {}", ZSTD_getErrorName(rc));
    if (out->size() - start > max_bytes) return TooLarge("zstd", max_bytes);
    if (rc == 0 && src.pos == src.size) return Status::Ok();  // the last frame ended
    if (src.pos == src.size && dst.pos < room) return Corruption("zstd: truncated frame");
  }
}

Status ZstdCompress(std::string_view in, std::string* out) {
  const size_t start = out->size();
  out->resize(start + ZSTD_compressBound(in.size()));
  const size_t n = ZSTD_compress(out->data() + start, out->size() - start, in.data(), in.size(),
                                 ZSTD_CLEVEL_DEFAULT);
  if (ZSTD_isError(n)) return InvalidArgument("zstd: {}", ZSTD_getErrorName(n));
  out->resize(start + n);
  return Status::Ok();
}

}  // namespace

const char* Name(int codec) {
  static constexpr const char* kNames[] = {"none", "gzip", "snappy", "lz4", "zstd"};
  return codec >= 0 && codec <= 4 ? kNames[codec] : "unknown";
}

Result<Codec> Parse(std::string_view name) {
  for (int c = 0; c <= 4; ++c) {
    if (name == Name(c)) return static_cast<Codec>(c);
  }
  return InvalidArgument("unknown compression '{}': use none, gzip, snappy, lz4 or zstd", name);
}

Status Compress(Codec codec, std::string_view in, std::string* out) {
  switch (codec) {
    case Codec::kGzip:
      return GzipCompress(in, out);
    case Codec::kSnappy:
      return SnappyCompress(in, out);
    case Codec::kLz4:
      return Lz4Compress(in, out);
    case Codec::kZstd:
      return ZstdCompress(in, out);
    case Codec::kNone:
      break;
  }
  return InvalidArgument("Compress called without a codec");
}

Status Decompress(int codec, std::string_view in, size_t max_bytes, std::string* out) {
  const size_t start = out->size();
  Status st;
  switch (codec) {
    case 1:
      st = GzipDecompress(in, max_bytes, out);
      break;
    case 2:
      st = SnappyDecompress(in, max_bytes, out);
      break;
    case 3:
      st = Lz4Decompress(in, max_bytes, out);
      break;
    case 4:
      st = ZstdDecompress(in, max_bytes, out);
      break;
    default:
      return Corruption("compression codec {} is not one Kafka defines (1-4)", codec);
  }
  if (!st.ok()) out->resize(start);
  return st;
}

}  // namespace sluice::codec
