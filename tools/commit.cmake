# Writes OUT defining MELON_GIT_DESCRIBE as `git describe` of SRC (or "unknown"),
# touching OUT only when that changes, so an unchanged commit rebuilds nothing.
execute_process(COMMAND git describe --always --dirty --tags WORKING_DIRECTORY "${SRC}"
                OUTPUT_VARIABLE describe OUTPUT_STRIP_TRAILING_WHITESPACE ERROR_QUIET RESULT_VARIABLE rc)
if(NOT rc EQUAL 0 OR describe STREQUAL "")
  set(describe unknown)
endif()
set(text "#define MELON_GIT_DESCRIBE \"${describe}\"\n")
if(EXISTS "${OUT}")
  file(READ "${OUT}" old)
endif()
if(NOT old STREQUAL text)
  file(WRITE "${OUT}" "${text}")
endif()
