// JsonSerde<T>: a user struct as a flat JSON object, parsed with simdjson (On-Demand).
//
// Declare the members once, at global namespace scope, after the struct:
//
//   struct Order {
//     std::string id;
//     std::string customer;
//     double amount = 0;
//     int64_t ts = 0;
//     std::optional<std::string> coupon;  // may be missing or null
//   };
//   SLUICE_JSON_FIELDS(Order, id, customer, amount, ts, coupon)
//
// Then Order is a value type like any other: builder.Stream<std::string, Order>("orders"),
// .To("out", ...), TestDriver topics and stores pick JsonSerde<Order> as its default serde
// (SLUICE_JSON_FIELDS specialises SerdeFor<Order>). Without the macro, JsonSerde<Order>(
// JsonField("id", &Order::id), ...) builds the same serde under other member names.
//
// Member types: std::string, int64_t, int32_t, double, bool, and std::optional of each. The JSON
// names are the member names (or JsonField's). Reading: members of other names are skipped
// (nested values included); the first member of a name counts; a missing member that is not
// optional is an error, as is a value of the wrong type (a string for a number, 1.5 for an
// integer, an int32 out of range), a document that is not one JSON object, or anything after
// it. Errors are kInvalidArgument naming the member and what was expected, so a job can route
// the record to a dead-letter topic (ParseJson below, examples/standalone/). Writing: the members
// in declaration order, compact; an empty optional is left out; NaN and infinities (which JSON
// cannot hold) are written as null.
//
// Serdes are immutable and thread-safe (each thread parses with its own simdjson parser).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <tuple>
#include <type_traits>
#include <utility>

#include "core/status.h"
#include "operators/serde.h"

namespace sluice {

// Appends `s` as a JSON string literal (quoted; '"', '\\' and control characters escaped) to
// *out. The examples' JsonWriter writes its strings with it too.
void AppendJsonString(std::string* out, std::string_view s);

namespace json_internal {

enum class Kind : uint8_t { kString, kInt64, kInt32, kDouble, kBool };

template <typename M>
struct KindOf;
template <>
struct KindOf<std::string> {
  static constexpr Kind kKind = Kind::kString;
};
template <>
struct KindOf<int64_t> {
  static constexpr Kind kKind = Kind::kInt64;
};
template <>
struct KindOf<int32_t> {
  static constexpr Kind kKind = Kind::kInt32;
};
template <>
struct KindOf<double> {
  static constexpr Kind kKind = Kind::kDouble;
};
template <>
struct KindOf<bool> {
  static constexpr Kind kKind = Kind::kBool;
};

template <typename M>
struct Unwrap {
  using type = M;
  static constexpr bool kOptional = false;
};
template <typename M>
struct Unwrap<std::optional<M>> {
  using type = M;
  static constexpr bool kOptional = true;
};

template <typename M>
concept JsonMember = requires {
  KindOf<typename Unwrap<M>::type>::kKind;
};

// One member as the parser sees it: where its value goes.
struct Slot {
  std::string_view name;
  Kind kind;
  bool optional;
  void* target;          // std::string*, int64_t*, int32_t*, double* or bool*
  bool present = false;  // set by ParseObject
};

// Parses `json` (one flat object) into the slots' targets and sets their `present`. An optional
// slot that is null counts as absent. Errors as described at the top of the file.
Status ParseObject(std::string_view json, std::span<Slot> slots);

// Appends the value at `value` of kind `kind` as JSON to *out.
void AppendValue(Kind kind, const void* value, std::string* out);

}  // namespace json_internal

// One member of T bound to a JSON name (the member's name in SLUICE_JSON_FIELDS).
template <typename T, typename M>
requires json_internal::JsonMember<M>
struct JsonField {
  std::string_view name;
  M T::*member;
};
template <typename T, typename M>
JsonField(std::string_view, M T::*) -> JsonField<T, M>;

namespace json_internal {

template <typename T, typename... M>
class JsonSerdeImpl final : public Serde<T> {
 public:
  explicit JsonSerdeImpl(std::tuple<JsonField<T, M>...> f) : fields_(std::move(f)) {}
  std::string_view name() const override { return "json"; }

  void Serialize(const T& value, std::string* out) const override {
    out->clear();
    out->push_back('{');
    bool first = true;
    std::apply([&](const auto&... f) { (Write(f, value, &first, out), ...); }, fields_);
    out->push_back('}');
  }

  Status Deserialize(std::string_view bytes, T* out) const override {
    std::array<Slot, sizeof...(M)> slots = std::apply(
        [&](const auto&... f) { return std::array<Slot, sizeof...(M)>{SlotOf(f, out)...}; },
        fields_);
    SLUICE_RETURN_IF_ERROR(ParseObject(bytes, slots));
    size_t i = 0;
    std::apply([&](const auto&... f) { (Settle(f, slots[i++], out), ...); }, fields_);
    return Status::Ok();
  }

 private:
  template <typename F>
  static void Write(const F& f, const T& value, bool* first, std::string* out) {
    using Member = std::remove_cvref_t<decltype(value.*(f.member))>;
    using U = typename Unwrap<Member>::type;
    const U* v;
    if constexpr (Unwrap<Member>::kOptional) {
      if (!(value.*(f.member)).has_value()) return;
      v = &*(value.*(f.member));
    } else {
      v = &(value.*(f.member));
    }
    if (!*first) out->push_back(',');
    *first = false;
    AppendJsonString(out, f.name);
    out->push_back(':');
    AppendValue(KindOf<U>::kKind, v, out);
  }

  template <typename F>
  static Slot SlotOf(const F& f, T* out) {
    using Member = std::remove_cvref_t<decltype(out->*(f.member))>;
    using U = typename Unwrap<Member>::type;
    void* target;
    if constexpr (Unwrap<Member>::kOptional) {
      target = &(out->*(f.member)).emplace();
    } else {
      target = &(out->*(f.member));
    }
    return Slot{.name = f.name,
                .kind = KindOf<U>::kKind,
                .optional = Unwrap<Member>::kOptional,
                .target = target};
  }

  template <typename F>
  static void Settle(const F& f, const Slot& slot, T* out) {
    using Member = std::remove_cvref_t<decltype(out->*(f.member))>;
    if constexpr (Unwrap<Member>::kOptional) {
      if (!slot.present) (out->*(f.member)).reset();
    }
  }

  std::tuple<JsonField<T, M>...> fields_;
};

}  // namespace json_internal

// A serde of T from its JSON fields, named "json".
template <typename T, typename... M>
SerdePtr<T> JsonSerde(JsonField<T, M>... fields) {
  return std::make_shared<json_internal::JsonSerdeImpl<T, M...>>(
      std::tuple<JsonField<T, M>...>(fields...));
}

// Parses one JSON value of T with T's default serde (SLUICE_JSON_FIELDS). For routing bad
// records: a Result<T> per raw string value, kInvalidArgument saying what is wrong.
template <typename T>
Result<T> ParseJson(std::string_view json) {
  static const SerdePtr<T> serde = DefaultSerde<T>();
  if (serde == nullptr) {
    return InvalidArgument(
        "ParseJson: the type has no serde; declare its members with "
        "SLUICE_JSON_FIELDS");
  }
  T value{};
  SLUICE_RETURN_IF_ERROR(serde->Deserialize(json, &value));
  return value;
}

// The JSON text of `value` with T's default serde. REQUIRES: T has one (SLUICE_JSON_FIELDS).
template <typename T>
std::string ToJson(const T& value) {
  static const SerdePtr<T> serde = DefaultSerde<T>();
  std::string out;
  serde->Serialize(value, &out);
  return out;
}

}  // namespace sluice

// SLUICE_JSON_FIELDS(Type, member...): JsonSerde<Type> over the named members becomes Type's
// default serde. Use at global namespace scope.
#define SLUICE_JSON_FIELDS(Type, ...)                                                    \
  template <>                                                                            \
  struct sluice::SerdeFor<Type> {                                                        \
    static ::sluice::SerdePtr<Type> Get() {                                              \
      static const ::sluice::SerdePtr<Type> serde = ::sluice::JsonSerde<Type>(           \
          SLUICE_JSON_INTERNAL_FOR_EACH(SLUICE_JSON_INTERNAL_FIELD, Type, __VA_ARGS__)); \
      return serde;                                                                      \
    }                                                                                    \
  };

// A comma-separated FIELD(Type, m) for each member m (C++20 __VA_OPT__ recursion, up to 24
// members).
#define SLUICE_JSON_INTERNAL_FIELD(Type, m) ::sluice::JsonField(#m, &Type::m)
#define SLUICE_JSON_INTERNAL_PARENS ()
#define SLUICE_JSON_INTERNAL_EXPAND(...) \
  SLUICE_JSON_INTERNAL_EXPAND3(          \
      SLUICE_JSON_INTERNAL_EXPAND3(SLUICE_JSON_INTERNAL_EXPAND3(__VA_ARGS__)))
#define SLUICE_JSON_INTERNAL_EXPAND3(...) \
  SLUICE_JSON_INTERNAL_EXPAND2(           \
      SLUICE_JSON_INTERNAL_EXPAND2(SLUICE_JSON_INTERNAL_EXPAND2(__VA_ARGS__)))
#define SLUICE_JSON_INTERNAL_EXPAND2(...) \
  SLUICE_JSON_INTERNAL_EXPAND1(           \
      SLUICE_JSON_INTERNAL_EXPAND1(SLUICE_JSON_INTERNAL_EXPAND1(__VA_ARGS__)))
#define SLUICE_JSON_INTERNAL_EXPAND1(...) __VA_ARGS__
#define SLUICE_JSON_INTERNAL_FOR_EACH(F, Type, ...) \
  __VA_OPT__(SLUICE_JSON_INTERNAL_EXPAND(SLUICE_JSON_INTERNAL_FOR_EACH_STEP(F, Type, __VA_ARGS__)))
#define SLUICE_JSON_INTERNAL_FOR_EACH_STEP(F, Type, m, ...) \
  F(Type, m)                                                \
  __VA_OPT__(                                               \
      , SLUICE_JSON_INTERNAL_FOR_EACH_AGAIN SLUICE_JSON_INTERNAL_PARENS(F, Type, __VA_ARGS__))
#define SLUICE_JSON_INTERNAL_FOR_EACH_AGAIN() SLUICE_JSON_INTERNAL_FOR_EACH_STEP
