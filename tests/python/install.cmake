# Installs the Python package the way a user would — pip, offline, no build
# isolation (Debian's python3-setuptools) — into a fresh target directory,
# from a copy so that setuptools' by-products stay out of the source tree.
# Run by CTest as the python_install fixture: cmake -DPYTHON=… -DSRC=… -DDEST=… -P
foreach(var PYTHON SRC DEST)
  if(NOT DEFINED ${var})
    message(FATAL_ERROR "install.cmake: -D${var}= is required")
  endif()
endforeach()
file(REMOVE_RECURSE "${DEST}")
file(COPY "${SRC}/" DESTINATION "${DEST}/src"
     PATTERN "__pycache__" EXCLUDE PATTERN "*.egg-info" EXCLUDE PATTERN "build" EXCLUDE)
execute_process(
  COMMAND "${PYTHON}" -m pip install --no-build-isolation --no-index --no-deps
          --disable-pip-version-check --root-user-action=ignore --quiet
          --target "${DEST}/site" "${DEST}/src"
  RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "pip install of ${SRC} into ${DEST}/site failed (${rc})")
endif()
if(NOT EXISTS "${DEST}/site/hubcontacts/py.typed")
  message(FATAL_ERROR "the installed package lacks py.typed")
endif()
