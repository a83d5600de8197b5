# The blocking HTTP(S) client: connectors that call web APIs link this.
add_library(conn_http_client STATIC
  ${CMAKE_CURRENT_LIST_DIR}/client.cpp
  ${CMAKE_CURRENT_LIST_DIR}/retry.cpp
  ${CMAKE_CURRENT_LIST_DIR}/url.cpp
  ${CMAKE_CURRENT_LIST_DIR}/url_impl.cpp)
target_link_libraries(conn_http_client PUBLIC conn_util PRIVATE conn_asio)
