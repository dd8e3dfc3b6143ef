# cmake -DNODE=... -DWEB_DIR=... -DOUT_DIR=... -DSTAMP=... -P build_web.cmake
# Type-checks the web application and bundles it into OUT_DIR. Without node
# or web/node_modules it says what to run and builds nothing, so that a
# C++-only build still works; the browser tests then fail naming the cause.
if(NOT NODE OR NOT EXISTS "${WEB_DIR}/node_modules/vite/bin/vite.js"
   OR NOT EXISTS "${WEB_DIR}/node_modules/typescript/bin/tsc")
  message(WARNING "web: node or web/node_modules is missing, so the web application was not built. "
                  "Run scripts/setup.sh (it installs nodejs and runs `npm ci` in web/).")
  file(REMOVE "${STAMP}")
  return()
endif()
execute_process(COMMAND "${NODE}" node_modules/typescript/bin/tsc --noEmit -p tsconfig.json
                WORKING_DIRECTORY "${WEB_DIR}" RESULT_VARIABLE tsc_result)
if(NOT tsc_result EQUAL 0)
  message(FATAL_ERROR "web: the TypeScript type check failed (above)")
endif()
execute_process(COMMAND "${CMAKE_COMMAND}" -E env "HOLDFAST_WEB_OUT=${OUT_DIR}"
                        "${NODE}" node_modules/vite/bin/vite.js build --logLevel warn
                WORKING_DIRECTORY "${WEB_DIR}" RESULT_VARIABLE vite_result)
if(NOT vite_result EQUAL 0)
  message(FATAL_ERROR "web: the Vite build failed (above)")
endif()
file(TOUCH "${STAMP}")
