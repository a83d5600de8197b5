# The fake Slack (Web API + Socket Mode) for unit and end-to-end tests.
# tests/CMakeLists.txt does not visit tests/support, so test folders include
# this file; the guard makes a second include a no-op. Link `slack_fake`.
if(NOT TARGET slack_fake)
  get_filename_component(_slack_fake_root ${CMAKE_CURRENT_LIST_DIR}/../../.. ABSOLUTE)
  add_library(slack_fake STATIC ${CMAKE_CURRENT_LIST_DIR}/fake_slack.cpp)
  # websocketpp 0.8.2 needs C++17 (see connectors/slack/CMakeLists.txt).
  set_target_properties(slack_fake PROPERTIES CXX_STANDARD 17)
  target_include_directories(slack_fake PUBLIC ${_slack_fake_root})
  target_link_libraries(slack_fake
    PUBLIC conn_util
    PRIVATE conn_http_server conn_slack conn_asio nlohmann_json::nlohmann_json)
endif()
