// The word-count job: splits each input line into words and emits, per word, its running
// count. Output: key = the word, value = its count so far as decimal text.
//
// Words are maximal runs of ASCII letters and digits (and any non-ASCII bytes, so UTF-8 words
// stay whole), lower-cased in ASCII. Input keys are ignored. Because the key changes from the
// line's key to the word, the words are repartitioned through "<app>-<store>-repartition".
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "operators/topology_builder.h"

namespace sluice::examples {

struct WordCountOptions {
  // Topic of text lines. Default "lines".
  std::string input = "lines";
  // Topic of (word, running count). Default "word-counts".
  std::string output = "word-counts";
  // Name of the count store (also names the repartition topic). Default "word-counts-store".
  std::string store = "word-counts-store";
};

// Splits a line into lower-cased words (exposed for tests and the hand-written benchmark loop).
std::vector<std::string> SplitWords(std::string_view line);

void AddWordCount(TopologyBuilder& builder, const WordCountOptions& options = {});

}  // namespace sluice::examples
