# llmc_add_plugin(<name> SOURCES <files...> [LINK_LIBRARIES <libs...>])
# Builds <name>.so, a plugin the llmc host loads: a MODULE library with hidden symbols (only the
# entry point is exported), linked against the header-only llmc::sdk and nothing of the host.
# Inside the llmc tree it lands next to the stock plugins; elsewhere in the caller's build dir, and
# `cmake --install` puts it under <prefix>/lib/llmc/plugins.
function(llmc_add_plugin name)
  cmake_parse_arguments(ARG "" "" "SOURCES;LINK_LIBRARIES" ${ARGN})
  if(NOT ARG_SOURCES)
    message(FATAL_ERROR "llmc_add_plugin(${name}): SOURCES is required")
  endif()
  add_library(${name} MODULE ${ARG_SOURCES})
  target_link_libraries(${name} PRIVATE llmc::sdk ${ARG_LINK_LIBRARIES})
  set_target_properties(${name} PROPERTIES
    PREFIX ""
    C_VISIBILITY_PRESET hidden
    CXX_VISIBILITY_PRESET hidden
    VISIBILITY_INLINES_HIDDEN ON)
  target_compile_features(${name} PRIVATE cxx_std_20)
  if(LLMC_PLUGIN_BUILD_DIR)
    set_target_properties(${name} PROPERTIES LIBRARY_OUTPUT_DIRECTORY "${LLMC_PLUGIN_BUILD_DIR}")
  endif()
  if(NOT LLMC_PLUGIN_INSTALL_DIR)
    set(LLMC_PLUGIN_INSTALL_DIR "lib/llmc/plugins")
  endif()
  install(TARGETS ${name} LIBRARY DESTINATION "${LLMC_PLUGIN_INSTALL_DIR}")
  set_property(GLOBAL APPEND PROPERTY LLMC_PLUGIN_TARGETS ${name})
endfunction()
