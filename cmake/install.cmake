# install.cmake - what `cmake --install build --prefix P` puts where.
#
# The two programs (offpayd in sbin: it is a daemon an administrator runs),
# their man pages, the documents, and what systemd needs to run offpayd as
# its own user: the unit, a sysusers.d entry that creates the user and a
# tmpfiles.d entry for its state folder /var/lib/offpay.  The unit names the
# installed offpayd by its full path, so it is written at install time, when
# the prefix given to `cmake --install --prefix` is known
# (cmake/install_unit.cmake), not at configure time.
set(OFFPAY_SYSTEMD_UNITDIR "lib/systemd/system" CACHE STRING
    "Where offpayd.service is installed (relative to the prefix, or absolute)")
set(OFFPAY_SYSUSERSDIR "lib/sysusers.d" CACHE STRING "Where the sysusers.d entry for the offpay user goes")
set(OFFPAY_TMPFILESDIR "lib/tmpfiles.d" CACHE STRING "Where the tmpfiles.d entry for /var/lib/offpay goes")

install(TARGETS offpay RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
install(TARGETS offpayd RUNTIME DESTINATION ${CMAKE_INSTALL_SBINDIR})
install(FILES ${PROJECT_SOURCE_DIR}/man/offpay.1 DESTINATION ${CMAKE_INSTALL_MANDIR}/man1)
install(FILES ${PROJECT_SOURCE_DIR}/man/offpayd.8 DESTINATION ${CMAKE_INSTALL_MANDIR}/man8)
install(DIRECTORY ${PROJECT_SOURCE_DIR}/docs/ DESTINATION ${CMAKE_INSTALL_DOCDIR})
install(FILES ${PROJECT_SOURCE_DIR}/README.md ${PROJECT_SOURCE_DIR}/LICENSE DESTINATION ${CMAKE_INSTALL_DOCDIR})
install(FILES ${PROJECT_SOURCE_DIR}/dist/offpay.sysusers DESTINATION ${OFFPAY_SYSUSERSDIR} RENAME offpay.conf)
install(FILES ${PROJECT_SOURCE_DIR}/dist/offpay.tmpfiles DESTINATION ${OFFPAY_TMPFILESDIR} RENAME offpay.conf)
install(CODE "
  set(OFFPAY_UNIT_TEMPLATE \"${PROJECT_SOURCE_DIR}/dist/offpayd.service.in\")
  set(OFFPAY_UNIT_DIR \"${OFFPAY_SYSTEMD_UNITDIR}\")
  set(OFFPAY_SBINDIR \"${CMAKE_INSTALL_SBINDIR}\")
  set(OFFPAY_DOCDIR \"${CMAKE_INSTALL_DOCDIR}\")
")
install(SCRIPT ${PROJECT_SOURCE_DIR}/cmake/install_unit.cmake)
