# install_configure.cmake - what the install-time scripts that write a file
# from a template share (cmake/install_unit.cmake: offpayd.service;
# src/lib/offpay_pc.cmake: offpay.pc).  They run through install(SCRIPT), with
# CMAKE_INSTALL_PREFIX the prefix of this `cmake --install`; the paths they
# write are full ones under it, and DESTDIR is honoured but left out of them.

# Stops the install unless each variable named after `script` is set (by the
# install(CODE) that comes before the script).
macro(offpay_install_require script)
  foreach(v ${ARGN})
    if(NOT DEFINED ${v})
      message(FATAL_ERROR "${script}: ${v} is not set (run it through cmake --install)")
    endif()
  endforeach()
endmacro()

# Sets `out` to dir, made full under the prefix unless it is absolute.
macro(offpay_install_full out dir)
  if(IS_ABSOLUTE "${dir}")
    set(${out} "${dir}")
  else()
    set(${out} "${CMAKE_INSTALL_PREFIX}/${dir}")
  endif()
endmacro()

# Writes `template` with its @VARIABLES@ replaced to `path` (full, under
# DESTDIR) and adds it to the install manifest.
macro(offpay_install_configure template path)
  set(offpay_install_dest "$ENV{DESTDIR}${path}")
  message(STATUS "Installing: ${offpay_install_dest}")
  configure_file("${template}" "${offpay_install_dest}" @ONLY)
  list(APPEND CMAKE_INSTALL_MANIFEST_FILES "${offpay_install_dest}")
endmacro()
