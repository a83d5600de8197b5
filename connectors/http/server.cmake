# The HTTP/1.1 server (plain HTTP: deskbot runs behind a TLS-terminating proxy).
add_library(conn_http_server STATIC ${CMAKE_CURRENT_LIST_DIR}/server.cpp)
target_link_libraries(conn_http_server PUBLIC conn_util conn_asio)
