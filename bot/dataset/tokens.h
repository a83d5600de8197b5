// Estimated token counts. deskbot does not ship a BPE tokenizer, so every
// token figure it prints is labelled "estimated". The heuristic:
//
//   tokens(text) = max(ceil(code_points / 4), words + symbols)
//
// where words are runs of letters/digits (any non-ASCII byte counts as a
// letter) and symbols are the other non-space characters. ~4 characters per
// token is OpenAI's rule of thumb for English; words+symbols keeps short,
// punctuation-heavy text (paths, code, logs) from being underestimated.
// Taking the larger keeps limit checks on the safe side.
//
// A chat example adds the per-message overhead of OpenAI's cookbook counter:
// 4 tokens per message and 3 to prime the reply.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <string_view>

namespace deskbot::dataset {

std::int64_t EstimateTokens(std::string_view text);

inline constexpr std::int64_t kTokensPerMessage = 4;
inline constexpr std::int64_t kTokensReplyPriming = 3;

// Sum over messages of (EstimateTokens(content) + kTokensPerMessage) + priming.
std::int64_t EstimateChatTokens(std::initializer_list<std::string_view> contents);

}  // namespace deskbot::dataset
