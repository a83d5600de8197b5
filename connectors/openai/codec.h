// JSON request bodies and response parsing for the OpenAI API.
//
// Pure functions (no I/O) so the wire shapes can be tested against the
// vendor's documented examples. Parsers are lenient about extra fields and
// explicit nulls, strict about the fields they need: a response that is not
// JSON, or lacks an id, is an InvalidArgument naming what was wrong.
#pragma once

#include <string>
#include <string_view>

#include "connectors/openai/types.h"
#include "connectors/util/status.h"

namespace openai {

// ------------------------------------------------------------ request bodies

std::string EncodeJobCreate(const JobCreateRequest& request);
// `max_tokens_field` names the output cap ("max_completion_tokens" or "max_tokens").
std::string EncodeChatRequest(const ChatRequest& request, const std::string& max_tokens_field);
std::string EncodeEmbeddingRequest(const EmbeddingRequest& request);

// ------------------------------------------------------------ response bodies

util::Result<FileObject> ParseFileObject(std::string_view body);
util::Result<Page<FileObject>> ParseFileList(std::string_view body);
util::Result<FileDeleted> ParseFileDeleted(std::string_view body);

util::Result<Job> ParseJob(std::string_view body);
util::Result<Page<Job>> ParseJobList(std::string_view body);
util::Result<Page<JobEvent>> ParseEventList(std::string_view body);
util::Result<Page<Checkpoint>> ParseCheckpointList(std::string_view body);

util::Result<ChatResponse> ParseChatResponse(std::string_view body);
util::Result<EmbeddingResponse> ParseEmbeddingResponse(std::string_view body);

// The error object of a non-2xx body. Also understands the shapes some
// OpenAI-compatible servers send ({"error":"text"}, {"detail":...},
// {"message":...}). Fails when the body holds none of them.
util::Result<ApiError> ParseApiError(std::string_view body);

}  // namespace openai
