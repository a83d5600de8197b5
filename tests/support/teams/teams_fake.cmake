# The fake Bot Framework (OpenID metadata, JWKS, token endpoint, Connector)
# for the Teams unit and end-to-end tests. tests/CMakeLists.txt does not visit
# tests/support, so test folders include this file; the guard makes a second
# include a no-op. Link `teams_fake`.
if(NOT TARGET teams_fake)
  get_filename_component(_teams_fake_root ${CMAKE_CURRENT_LIST_DIR}/../../.. ABSOLUTE)
  add_library(teams_fake STATIC ${CMAKE_CURRENT_LIST_DIR}/fake_bot_framework.cpp)
  target_include_directories(teams_fake PUBLIC ${_teams_fake_root})
  target_link_libraries(teams_fake
    PUBLIC conn_teams conn_util
    PRIVATE conn_http_server conn_http_client nlohmann_json::nlohmann_json OpenSSL::Crypto)
endif()
