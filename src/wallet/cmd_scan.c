/*
 * cmd_scan.c - offpay scan IMAGE: read the offpay message a QR picture holds
 * and print its text form, so `offpay scan code.png > record.txt` feeds
 * `offpay accept record.txt`.  Needs no wallet.
 */
#include "cli.h"
#include "offpay/qr.h"
#include "offpay/text.h"

static int run(struct cli *c, int argc, char **argv)
{
    struct cli_opt opt[] = {{"json", 0, NULL}};
    struct cli_opts o = {opt, 1, {0}, 0, 0};
    static char text[OFFPAY_QR_TEXT_MAX + 1];
    size_t len;
    (void)c;

    if (cli_opts_parse(&cli_cmd_scan, &o, argc, argv) != 0)
        return offpay_status_exit_code(OFFPAY_ERR_USAGE);
    if (o.help)
        return cli_help(&cli_cmd_scan);
    if (o.n_pos != 1)
        return cli_usage(&cli_cmd_scan, "Give one PNG picture.");
    enum offpay_status s = offpay_qr_png_scan(text, sizeof text, &len, o.pos[0]);
    switch (s) {
    case OFFPAY_OK:
        break;
    case OFFPAY_ERR_STORAGE:
        return cli_fail(OFFPAY_ERR_USAGE, "Cannot read %s.", o.pos[0]);
    case OFFPAY_ERR_MALFORMED:
        return cli_fail(s, "%s is not a PNG picture offpay can read (or it is over %d pixels on a side).", o.pos[0],
                        OFFPAY_QR_IMAGE_SIDE_MAX);
    case OFFPAY_ERR_NO_CODE:
        return cli_fail(s, "%s holds no QR code with an offpay message.", o.pos[0]);
    default:
        return cli_fail(s, "%s", offpay_status_str(s));
    }
    if (cli_opt(&o, "json")) {
        /* zbar checked the text decodes; say what kind of message it is. */
        static uint8_t bin[OFFPAY_QR_TEXT_MAX];
        size_t n = 0;
        int type = 0;
        if (offpay_text_decode(bin, sizeof bin, &n, &type, 0, text, len) != OFFPAY_OK)
            type = 0;
        return cli_json_print(json_pack("{s:s, s:s}", "kind", cli_message_kind_code(type), "message", text));
    }
    if (printf("%s\n", text) < 0 || fflush(stdout) != 0)
        return cli_fail(OFFPAY_ERR_INTERNAL, "Writing the message failed.");
    return 0;
}

const struct cli_command cli_cmd_scan = {
    "scan", "scan IMAGE [--json]",
    "Print the offpay message a QR code picture (PNG) holds, as text.",
    "Reads the PNG with zbar and prints the first QR code in it that holds a\n"
    "well-formed offpay message (OP1REQ:..., OP1REC:..., OP1CNF:..., ...), on one\n"
    "line, ready for offpay pay, accept or confirm.  Exit 3 when the picture holds\n"
    "no such code or is not a readable PNG; exit 2 when it cannot be read.\n"
    "--json prints {\"kind\": ..., \"message\": TEXT}.\n",
    run,
};
