# offpay_pc.cmake - runs at install time (install(SCRIPT) in src/lib): writes
# offpay.pc from offpay.pc.in with the paths of this installation,
# CMAKE_INSTALL_PREFIX being the prefix of this `cmake --install` (DESTDIR is
# honoured, and left out of the paths written), with the helpers
# cmake/install_unit.cmake uses for the systemd unit.
include("${CMAKE_CURRENT_LIST_DIR}/../../cmake/install_configure.cmake")
offpay_install_require(offpay_pc.cmake OFFPAY_PC_TEMPLATE OFFPAY_PC_VERSION OFFPAY_PC_LIBDIR OFFPAY_PC_INCLUDEDIR)
set(OFFPAY_PC_PREFIX "${CMAKE_INSTALL_PREFIX}")
offpay_install_full(OFFPAY_PC_FULL_LIBDIR "${OFFPAY_PC_LIBDIR}")
offpay_install_full(OFFPAY_PC_FULL_INCLUDEDIR "${OFFPAY_PC_INCLUDEDIR}")
offpay_install_configure("${OFFPAY_PC_TEMPLATE}" "${OFFPAY_PC_FULL_LIBDIR}/pkgconfig/offpay.pc")
