#!/bin/sh
# Firmware upgrade: flashes the uploaded image (checks only a CRC).
echo "Content-Type: text/plain"; echo
/sbin/mtd write /tmp/upload.bin firmware && echo "upgraded"
