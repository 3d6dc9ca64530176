# install_unit.cmake - runs at install time (install(SCRIPT) in install.cmake):
# writes offpayd.service from dist/offpayd.service.in with the full paths of
# this installation, CMAKE_INSTALL_PREFIX being the prefix of this
# `cmake --install` (DESTDIR is honoured, and left out of the paths written).
foreach(v OFFPAY_UNIT_TEMPLATE OFFPAY_UNIT_DIR OFFPAY_SBINDIR OFFPAY_DOCDIR)
  if(NOT DEFINED ${v})
    message(FATAL_ERROR "install_unit.cmake: ${v} is not set (run it through cmake --install)")
  endif()
endforeach()

macro(offpay_full out dir)
  if(IS_ABSOLUTE "${dir}")
    set(${out} "${dir}")
  else()
    set(${out} "${CMAKE_INSTALL_PREFIX}/${dir}")
  endif()
endmacro()

offpay_full(unit_dir "${OFFPAY_UNIT_DIR}")
offpay_full(sbin_dir "${OFFPAY_SBINDIR}")
offpay_full(doc_dir "${OFFPAY_DOCDIR}")
set(OFFPAYD_PROGRAM "${sbin_dir}/offpayd")
set(OFFPAY_DOC "${doc_dir}")
set(dest "$ENV{DESTDIR}${unit_dir}/offpayd.service")
message(STATUS "Installing: ${dest}")
configure_file("${OFFPAY_UNIT_TEMPLATE}" "${dest}" @ONLY)
list(APPEND CMAKE_INSTALL_MANIFEST_FILES "${dest}")
