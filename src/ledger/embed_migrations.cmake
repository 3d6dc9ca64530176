# Turn the numbered migration files (FILES, sorted) of backend NAME (default
# sqlite) into OUT, a C file with
#   const struct offpay_NAME_migration offpay_NAME_migrations[] = {{1, "..."}, ...};
# The SQL is written as a byte array so no quoting can go wrong.
if(NOT DEFINED NAME)
  set(NAME sqlite)
endif()
set(body "/* Generated from the numbered files in src/ledger/${NAME}/migrations; do not edit. */\n#include \"${NAME}/migrations.h\"\n\n")
set(table "")
set(i 0)
foreach(f ${FILES})
  get_filename_component(name ${f} NAME)
  string(REGEX MATCH "^[0-9]+" num ${name})
  math(EXPR num "${num} + 0")
  file(READ ${f} hex HEX)
  string(REGEX REPLACE "([0-9a-f][0-9a-f])" "0x\\1," bytes "${hex}")
  string(APPEND body "static const char m${i}[] = {${bytes}0x00};\n")
  string(APPEND table "    {${num}, m${i}},\n")
  math(EXPR i "${i} + 1")
endforeach()
string(APPEND body "\nconst struct offpay_${NAME}_migration offpay_${NAME}_migrations[] = {\n${table}};\n")
string(APPEND body "const int offpay_${NAME}_migrations_count = ${i};\n")
file(WRITE ${OUT} "${body}")
