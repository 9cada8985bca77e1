// Serde<T>: how a value of type T becomes bytes when it crosses a topic or a store, and back.
//
// Built-in serdes (see the factory functions below):
//   StringSerde()        std::string, the bytes as they are (UTF-8 by convention)
//   BytesSerde()         Bytes (std::vector<uint8_t>), the bytes as they are
//   Int64Serde()         int64_t, 8 bytes big-endian (Kafka's LongSerializer)
//   Int32Serde()         int32_t, 4 bytes big-endian (Kafka's IntegerSerializer)
//   DoubleSerde()        double, 8 bytes IEEE-754 big-endian (Kafka's DoubleSerializer)
//   DecimalInt64Serde()  int64_t as signed decimal text ("-42"), what `sluice produce` writes
//
// Default serdes: DefaultSerde<T>() returns the serde used when a stream or store of T does not
// name one: StringSerde for std::string, BytesSerde for Bytes, Int64Serde for int64_t,
// Int32Serde for int32_t, DoubleSerde for double, and nullptr for any other type (Build() then
// reports a missing serde where one is needed). A user struct plugs in either by passing a serde
// explicitly (MakeSerde or a subclass of Serde<T>) or, once for all uses, by specialising
// SerdeFor<T>:
//
//   template <> struct sluice::SerdeFor<Point> {
//     static sluice::SerdePtr<Point> Get() { return sluice::MakeSerde<Point>("point", ser, de); }
//   };
//
// Null keys and values in the log deserialize as if they were empty (an empty string, or an
// error for the fixed-width serdes). Serdes are immutable and thread-safe.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"

namespace sluice {

using Bytes = std::vector<uint8_t>;

template <typename T>
class Serde {
 public:
  virtual ~Serde() = default;
  // A short name for Describe() and error messages, e.g. "int64".
  virtual std::string_view name() const = 0;
  // Replaces *out with the encoding of `value`.
  virtual void Serialize(const T& value, std::string* out) const = 0;
  // Decodes `bytes` into *out; kInvalidArgument saying what was expected if they are malformed.
  virtual Status Deserialize(std::string_view bytes, T* out) const = 0;
};

template <typename T>
using SerdePtr = std::shared_ptr<const Serde<T>>;

SerdePtr<std::string> StringSerde();
SerdePtr<Bytes> BytesSerde();
SerdePtr<int64_t> Int64Serde();
SerdePtr<int32_t> Int32Serde();
SerdePtr<double> DoubleSerde();
SerdePtr<int64_t> DecimalInt64Serde();

// The customisation point for user types: specialise with `static SerdePtr<T> Get();`.
template <typename T>
struct SerdeFor {
  static SerdePtr<T> Get() { return nullptr; }
};
template <>
struct SerdeFor<std::string> {
  static SerdePtr<std::string> Get() { return StringSerde(); }
};
template <>
struct SerdeFor<Bytes> {
  static SerdePtr<Bytes> Get() { return BytesSerde(); }
};
template <>
struct SerdeFor<int64_t> {
  static SerdePtr<int64_t> Get() { return Int64Serde(); }
};
template <>
struct SerdeFor<int32_t> {
  static SerdePtr<int32_t> Get() { return Int32Serde(); }
};
template <>
struct SerdeFor<double> {
  static SerdePtr<double> Get() { return DoubleSerde(); }
};

// The serde used for T when none is given; nullptr if T has none.
template <typename T>
SerdePtr<T> DefaultSerde() {
  return SerdeFor<T>::Get();
}

// A serde from two functions: ser(const T&, std::string*) and de(std::string_view, T*) -> Status.
template <typename T>
SerdePtr<T> MakeSerde(std::string name, std::function<void(const T&, std::string*)> ser,
                      std::function<Status(std::string_view, T*)> de) {
  class FnSerde final : public Serde<T> {
   public:
    FnSerde(std::string n, std::function<void(const T&, std::string*)> s,
            std::function<Status(std::string_view, T*)> d)
        : name_(std::move(n)), ser_(std::move(s)), de_(std::move(d)) {}
    std::string_view name() const override { return name_; }
    void Serialize(const T& v, std::string* out) const override { ser_(v, out); }
    Status Deserialize(std::string_view b, T* out) const override { return de_(b, out); }

   private:
    std::string name_;
    std::function<void(const T&, std::string*)> ser_;
    std::function<Status(std::string_view, T*)> de_;
  };
  return std::make_shared<FnSerde>(std::move(name), std::move(ser), std::move(de));
}

// The key and value serdes of a stream, table or topic. Null members mean "the default for the
// type" (DefaultSerde), resolved when the operator is added.
template <typename K, typename V>
struct Serdes {
  SerdePtr<K> key;
  SerdePtr<V> value;
};

}  // namespace sluice
