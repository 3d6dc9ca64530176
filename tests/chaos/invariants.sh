# invariants.sh - what must hold in the chaos run, whatever the network and
# the kills did (sourced by run.sh, bash).
#
# After every step (cheap):
#   - the ledger conserves value: online balances + unspent coins = minted,
#     and every account's own books (online + its unspent coins = minted +
#     received - sent), asked of the ledger directly; `offpayd audit`, which
#     checks the same, runs every tenth step and at the end;
#   - exactly once: every coin the ledger has spent by a record was spent by a
#     settled record (no input spent by a voided or unknown record);
#   - no honest wallet is marked fraudulent or revoked;
#   - every coin an honest wallet the step touched holds as spendable is
#     unspent in the ledger, owned by that wallet's key, of the same amount.
#     This is the one a lost answer breaks (issue 9: an unload the server
#     made while the wallet made the coin spendable again), and once it breaks,
#     the next offline payment with that coin gets an honest wallet revoked.
#     Coins in doubt or locked may be spent or not yet attested: no claim.
# At the end, after a fault-free sync of every wallet (check_final):
#   - every honest wallet holds nothing in doubt, nothing locked, no unsynced
#     record and no call in doubt, and exactly the coins the ledger holds
#     unspent for its key;
#   - conservation across the wallets: the honest wallets' coins, the coins
#     the ledger holds for the cloners' keys and every online balance add up
#     to what was minted (the cloners' own stores are copies of one another,
#     so their coins are counted once, at the ledger);
#   - every cloner whose two copies spent one coin in two records is marked
#     fraudulent, and no honest wallet is.

VIOLATIONS=0

violation() {
  VIOLATIONS=$((VIOLATIONS + 1))
  printf 'VIOLATION (step %s, seed %s): %s\n' "$STEP" "$SEED" "$*" | tee -a "$T/violations" >&2
  if [ "$VIOLATIONS" -ge 20 ]; then
    echo "chaos: 20 violations, stopping" >&2
    exit 1
  fi
}

# ledger_coins PUBKEY_HEX: "id|amount" of every unspent coin of that key, sorted.
ledger_coins() {
  lq "SELECT $(hexsql id) || '|' || amount FROM utxos WHERE spent = 0 AND owner = $(blobsql "$1")" | LC_ALL=C sort
}

# wallet_coins WALLET [STATE]: "id|amount" of the wallet's coins (in STATE), sorted.
wallet_coins() {
  local where=""
  [ -n "${2:-}" ] && where="WHERE state = '$2'"
  wq "$1" "SELECT lower(hex(id)) || '|' || amount FROM utxos $where" | LC_ALL=C sort
}

check_audit() {
  if ! "$OFFPAYD" audit --ledger "$LEDGER" >"$T/audit.out" 2>&1; then
    violation "offpayd audit fails: $(tr '\n' ' ' <"$T/audit.out" | head -c 600)"
  fi
}

# check_ledger: conservation (globally and per account) and exactly once, in one query.
check_ledger() {
  local r
  r=$(lq "SELECT
      (SELECT coalesce(sum(online), 0) FROM accounts) + (SELECT coalesce(sum(amount), 0) FROM utxos WHERE spent = 0)
        - (SELECT coalesce(sum(minted), 0) FROM accounts),
      (SELECT count(*) FROM accounts a WHERE a.online + coalesce((SELECT sum(u.amount) FROM utxos u
         WHERE u.account_id = a.id AND u.spent = 0), 0) <> a.minted + a.received - a.sent),
      (SELECT count(*) FROM utxos WHERE spent = 1 AND (spent_by IS NULL OR spent_by NOT IN
         (SELECT id FROM records WHERE state = 1)))")
  [ "$r" = "0|0|0" ] ||
    violation "the ledger: [online + unspent - minted, accounts whose books differ, coins spent by a record not settled] = [${r//|/, }]"
}

check_no_honest_flagged() {
  local id
  for id in $(lq "SELECT $(hexsql id) FROM wallets WHERE fraudulent <> 0 UNION SELECT $(hexsql wallet_id) FROM revoked"); do
    if [ -n "${HONEST_BY_ID[$id]:-}" ]; then
      violation "honest wallet ${HONEST_BY_ID[$id]} ($id) is marked fraudulent or revoked"
    fi
  done
}

# check_spendable_in_ledger WALLET: every spendable coin is unspent at the ledger, ours, same amount.
check_spendable_in_ledger() {
  local w=$1 extra
  [ -f "$T/$w/wallet.db" ] || return 0
  wallet_coins "$w" spendable >"$T/coins.wallet"
  ledger_coins "${PUBKEY[$w]}" >"$T/coins.ledger"
  extra=$(LC_ALL=C comm -23 "$T/coins.wallet" "$T/coins.ledger")
  if [ -n "$extra" ]; then
    violation "honest wallet $w holds as spendable coin(s) the ledger does not hold unspent for it: $(echo $extra)"
  fi
}

# check_step WALLET...: the cheap checks, for the wallets the step touched.
check_step() {
  local w
  check_ledger
  [ $((STEP % 10)) = 0 ] && check_audit
  check_no_honest_flagged
  for w in "$@"; do
    [ -n "${IS_HONEST[$w]:-}" ] && check_spendable_in_ledger "$w"
  done
}

# check_final: after the final sync (run.sh, final_sync).
check_final() {
  local w b m ds flagged sum_wallets=0 sum_cloners=0 online minted k
  check_audit
  check_ledger
  check_no_honest_flagged
  for w in "${HONEST[@]}"; do
    if ! "$OFFPAY" --wallet "$T/$w" balance --offline --json >"$T/final.json" 2>"$T/final.err"; then
      violation "offpay balance of $w fails: $(head -c 300 "$T/final.err")"
      continue
    fi
    b=$(jq -c '[.offline.in_doubt, .offline.locked, .pending.outgoing, .pending.incoming, .incoming_unsynced]' "$T/final.json")
    [ "$b" = "[0,0,0,0,0]" ] ||
      violation "after the final sync, $w still holds [in_doubt, locked, pending out, pending in, incoming] = $b"
    k=$(wq "$w" "SELECT count(*) FROM calls")
    [ "$k" = 0 ] || violation "after the final sync, $w still has $k call(s) in doubt"
    jq -r '.utxos[] | "\(.id)|\(.amount)"' "$T/final.json" | LC_ALL=C sort >"$T/coins.wallet"
    ledger_coins "${PUBKEY[$w]}" >"$T/coins.ledger"
    cmp -s "$T/coins.wallet" "$T/coins.ledger" ||
      violation "$w's coins differ from the ledger's for its key: wallet only: $(echo $(LC_ALL=C comm -23 "$T/coins.wallet" "$T/coins.ledger")); ledger only: $(echo $(LC_ALL=C comm -13 "$T/coins.wallet" "$T/coins.ledger"))"
    sum_wallets=$((sum_wallets + $(jq '[.utxos[].amount] | add // 0' "$T/final.json")))
  done
  for m in "${CLONERS[@]}"; do
    sum_cloners=$((sum_cloners + $(lq "SELECT coalesce(sum(amount), 0) FROM utxos WHERE spent = 0 AND owner = $(blobsql "${PUBKEY[$m]}")")))
  done
  online=$(lq "SELECT coalesce(sum(online), 0) FROM accounts")
  minted=$(lq "SELECT coalesce(sum(minted), 0) FROM accounts")
  [ "$minted" = "$MINTED" ] || violation "the ledger says $minted was minted, the run minted $MINTED"
  [ $((sum_wallets + sum_cloners + online)) = "$MINTED" ] ||
    violation "conservation: honest wallets $sum_wallets + cloners' coins $sum_cloners + online $online != minted $MINTED"
  for m in "${CLONERS[@]}"; do
    ds=$(double_spent_coins "$m")
    flagged=$(lq "SELECT fraudulent FROM wallets WHERE id = $(blobsql "${WALLET_ID[$m]}")")
    if [ -n "$ds" ]; then
      CAUGHT_EXPECTED=$((CAUGHT_EXPECTED + 1))
      if [ "$flagged" = 1 ]; then CAUGHT=$((CAUGHT + 1)); else
        violation "cloner $m spent coin(s) $(echo $ds) in two records, synced, and is not marked fraudulent"
      fi
    fi
  done
  FINAL_SUMS="honest_wallets=$sum_wallets cloners_coins=$sum_cloners online=$online minted=$MINTED"
}

# double_spent_coins CLONER: coins its two copies (folders CLONER, CLONER-copy)
# spent in two different outgoing records.  The run never has a cloner's
# payment refused, so no such record is ever voided legitimately.
double_spent_coins() {
  local c
  for c in "$1" "$1-copy"; do
    wq "$c" "SELECT lower(hex(i.utxo_id)) || ' ' || lower(hex(i.record_id)) FROM record_inputs i
             JOIN records r ON r.id = i.record_id WHERE r.direction = 'outgoing'"
  done | LC_ALL=C sort -u | awk '{ n[$1]++ } END { for (c in n) if (n[c] > 1) print c }' | LC_ALL=C sort
}
