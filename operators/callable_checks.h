// Concepts for the user callables the DSL accepts. Each operator static_asserts its concept
// with a message that states the expected signature, so a wrong lambda fails to compile with
// one readable line instead of a page of template errors.
#pragma once

#include <concepts>
#include <iterator>
#include <ranges>
#include <type_traits>
#include <utility>

namespace sluice {

namespace internal {
template <typename T>
struct IsPairT : std::false_type {};
template <typename A, typename B>
struct IsPairT<std::pair<A, B>> : std::true_type {};
template <typename T>
inline constexpr bool kIsPair = IsPairT<std::remove_cvref_t<T>>::value;
}  // namespace internal

// std::pair<K2, V2> fn(const K& key, const V& value)
template <typename F, typename K, typename V>
concept KeyValueMapper = std::invocable<F&, const K&, const V&> &&
    internal::kIsPair<std::invoke_result_t<F&, const K&, const V&>>;

// V2 fn(const V& value), V2 not void
template <typename F, typename V>
concept ValueMapper =
    std::invocable<F&, const V&> && !std::is_void_v<std::invoke_result_t<F&, const V&>>;

// bool fn(const K& key, const V& value)
template <typename F, typename K, typename V>
concept KeyValuePredicate = std::invocable<F&, const K&, const V&> &&
                            std::convertible_to < std::invoke_result_t<F&, const K&, const V&>,
bool > ;

// K2 fn(const K& key, const V& value), K2 not void
template <typename F, typename K, typename V>
concept KeySelector = std::invocable<F&, const K&, const V&> &&
    !std::is_void_v<std::invoke_result_t<F&, const K&, const V&>>;

// void fn(const K& key, const V& value)
template <typename F, typename K, typename V>
concept KeyValueAction = std::invocable<F&, const K&, const V&>;

// a range of std::pair<K2, V2> fn(const K& key, const V& value)
template <typename F, typename K, typename V>
concept FlatKeyValueMapper = std::invocable<F&, const K&, const V&> &&
    std::ranges::input_range<std::invoke_result_t<F&, const K&, const V&>> &&
    internal::kIsPair<std::ranges::range_value_t<std::invoke_result_t<F&, const K&, const V&>>>;

// V fn(const V& aggregate, const V& value)
template <typename F, typename V>
concept Reducer = std::invocable<F&, const V&, const V&> &&
    std::convertible_to<std::invoke_result_t<F&, const V&, const V&>, V>;

// A fn()
template <typename F>
concept Initializer = std::invocable<F&> && !std::is_void_v<std::invoke_result_t<F&>>;

// A fn(const K& key, const V& value, const A& aggregate)
template <typename F, typename K, typename V, typename A>
concept Aggregator = std::invocable<F&, const K&, const V&, const A&> &&
    std::convertible_to<std::invoke_result_t<F&, const K&, const V&, const A&>, A>;

}  // namespace sluice
