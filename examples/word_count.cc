#include "examples/word_count.h"

#include <utility>

namespace sluice::examples {
namespace {

bool IsWordByte(unsigned char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c >= 0x80;
}

}  // namespace

std::vector<std::string> SplitWords(std::string_view line) {
  std::vector<std::string> words;
  words.reserve(8);  // one allocation for a typical line instead of one per doubling
  size_t i = 0;
  while (i < line.size()) {
    while (i < line.size() && !IsWordByte(static_cast<unsigned char>(line[i]))) ++i;
    size_t start = i;
    while (i < line.size() && IsWordByte(static_cast<unsigned char>(line[i]))) ++i;
    if (i > start) {
      std::string w(line.substr(start, i - start));
      for (char& c : w) {
        if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
      }
      words.push_back(std::move(w));
    }
  }
  return words;
}

void AddWordCount(TopologyBuilder& builder, const WordCountOptions& options) {
  builder.Stream<std::string, std::string>(options.input)
      .FlatMap(
          [](const std::string&, const std::string& line) {
            std::vector<std::string> words = SplitWords(line);
            std::vector<std::pair<std::string, std::string>> out;
            out.reserve(words.size());
            for (std::string& w : words) out.emplace_back(std::move(w), std::string());
            return out;
          },
          "split-words")
      .GroupByKey()
      .Count(options.store)
      .ToStream("count-updates")
      .WithSerdes({.value = DecimalInt64Serde()})
      .To(options.output, "word-counts-sink");
}

}  // namespace sluice::examples
