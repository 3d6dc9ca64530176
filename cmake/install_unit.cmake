# install_unit.cmake - runs at install time (install(SCRIPT) in install.cmake):
# writes offpayd.service from dist/offpayd.service.in with the full paths of
# this installation, CMAKE_INSTALL_PREFIX being the prefix of this
# `cmake --install` (DESTDIR is honoured, and left out of the paths written).
include("${CMAKE_CURRENT_LIST_DIR}/install_configure.cmake")
offpay_install_require(install_unit.cmake OFFPAY_UNIT_TEMPLATE OFFPAY_UNIT_DIR OFFPAY_SBINDIR OFFPAY_DOCDIR)
offpay_install_full(unit_dir "${OFFPAY_UNIT_DIR}")
offpay_install_full(sbin_dir "${OFFPAY_SBINDIR}")
offpay_install_full(doc_dir "${OFFPAY_DOCDIR}")
set(OFFPAYD_PROGRAM "${sbin_dir}/offpayd")
set(OFFPAY_DOC "${doc_dir}")
offpay_install_configure("${OFFPAY_UNIT_TEMPLATE}" "${unit_dir}/offpayd.service")
