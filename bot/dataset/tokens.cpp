#include "bot/dataset/tokens.h"

#include <algorithm>

#include "bot/dataset/text_util.h"

namespace deskbot::dataset {

std::int64_t EstimateTokens(std::string_view text) {
  std::int64_t code_points = 0, words = 0, symbols = 0;
  bool in_word = false;
  for (char ch : text) {
    auto c = static_cast<unsigned char>(ch);
    if ((c & 0xC0) != 0x80) ++code_points;
    bool word = IsWordByte(ch);
    if (word) {
      if (!in_word) ++words;
    } else if (!IsAsciiSpace(ch)) {
      ++symbols;
    }
    in_word = word;
  }
  return std::max((code_points + 3) / 4, words + symbols);
}

std::int64_t EstimateChatTokens(std::initializer_list<std::string_view> contents) {
  std::int64_t total = kTokensReplyPriming;
  for (auto c : contents) total += EstimateTokens(c) + kTokensPerMessage;
  return total;
}

}  // namespace deskbot::dataset
