# offpay_pc.cmake - runs at install time (install(SCRIPT) in src/lib): writes
# offpay.pc from offpay.pc.in with the paths of this installation,
# CMAKE_INSTALL_PREFIX being the prefix of this `cmake --install` (DESTDIR is
# honoured, and left out of the paths written), as cmake/install_unit.cmake
# does for the systemd unit.
foreach(v OFFPAY_PC_TEMPLATE OFFPAY_PC_VERSION OFFPAY_PC_LIBDIR OFFPAY_PC_INCLUDEDIR)
  if(NOT DEFINED ${v})
    message(FATAL_ERROR "offpay_pc.cmake: ${v} is not set (run it through cmake --install)")
  endif()
endforeach()

macro(offpay_pc_full out dir)
  if(IS_ABSOLUTE "${dir}")
    set(${out} "${dir}")
  else()
    set(${out} "${CMAKE_INSTALL_PREFIX}/${dir}")
  endif()
endmacro()

set(OFFPAY_PC_PREFIX "${CMAKE_INSTALL_PREFIX}")
offpay_pc_full(OFFPAY_PC_FULL_LIBDIR "${OFFPAY_PC_LIBDIR}")
offpay_pc_full(OFFPAY_PC_FULL_INCLUDEDIR "${OFFPAY_PC_INCLUDEDIR}")
set(dest "$ENV{DESTDIR}${OFFPAY_PC_FULL_LIBDIR}/pkgconfig/offpay.pc")
message(STATUS "Installing: ${dest}")
configure_file("${OFFPAY_PC_TEMPLATE}" "${dest}" @ONLY)
list(APPEND CMAKE_INSTALL_MANIFEST_FILES "${dest}")
