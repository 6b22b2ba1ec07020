/*
 * The write guard of the medication list (src/samhandling/services/medication_list/):
 * prescribers read the list, change their copy, and save the whole list; a save is
 * accepted only under the list's lock, when based on the current version and accounting
 * for every entry of it; a paused list takes writes only from the pausing prescriber.
 * Claims in plain words: models/README.md. Check: spin -a -DN=3 medication_list_guard.pml
 *
 * -DN=k      k concurrent prescribers (2 or 3)
 * -DRETRIES  attempts per prescriber (a stale or refused save reads again and retries)
 * -DBROKEN_NO_VERSION_CHECK   the guard without its version check (spin must find a loss)
 * -DBROKEN_NO_PAUSE_CHECK     the guard without its pause check (spin must find a write)
 */
#ifndef N
#define N 2
#endif
#ifndef RETRIES
#define RETRIES 2
#endif
#define E (N + 1)              /* entry 0 was on the list from the start; entry p is p's */
#define PAUSER 1               /* the hospital ward: prescriber 1 may pause the list */

/* An entry is 0 while it is not on the list, else the stamp of its content: every change
 * (a new dose, a withdrawal with its reason) writes a stamp no other change writes. Entries
 * never leave the list here (they leave it 90 days after a withdrawal, outside the model). */
byte list[E];                  /* the current version's entries */
byte version = 1;
byte paused_by = 0;            /* 0: not paused; else the pausing prescriber */
bit locked = 0;                /* the List's row lock (FOR UPDATE / SQLite write lock) */
bit lost = 0;                  /* ghost: an accepted save overwrote or dropped a state of an
                                  entry (another prescriber's entry or change) its writer never saw */
bit foreign_write = 0;         /* ghost: a write by another prescriber while paused */

inline lock() { atomic { locked == 0 -> locked = 1 } }
inline unlock() { locked = 0 }

proctype Prescriber(byte p) {
    byte seen[E];              /* the list as this prescriber read it */
    byte mine[E];              /* the new list it saves */
    byte based;                /* the version it read */
    byte tries = 0;
    byte e;
    bit accepted = 0;
    bit pausing = 0;

    if
    :: p == PAUSER -> lock(); if :: paused_by == 0 -> paused_by = p; version++; pausing = 1
                               :: else -> skip fi; unlock()
    :: true -> skip
    fi;

    do
    :: accepted || tries == RETRIES -> break
    :: else ->
        tries++;
        /* read: a consistent snapshot of one version */
        atomic {
            based = version;
            e = 0; do :: e < E -> seen[e] = list[e]; mine[e] = list[e]; e++ :: else -> break od
        }
        /* change the copy: add (or change) its own entry; it may also change or withdraw
         * entry 0 if it saw it. A stamp is unique to (prescriber, attempt). */
        if
        :: mine[p] = p * 16 + tries
        :: true -> skip
        fi;
        if
        :: seen[0] != 0 -> mine[0] = p * 16 + tries
        :: true -> skip
        fi;
        /* save under the lock */
        lock();
#ifndef BROKEN_NO_PAUSE_CHECK
        if
        :: paused_by != 0 && paused_by != p -> unlock(); goto next   /* refused: paused */
        :: else -> skip
        fi;
#endif
#ifndef BROKEN_NO_VERSION_CHECK
        if
        :: based != version -> unlock(); goto next                   /* refused: stale (412) */
        :: else -> skip
        fi;
#endif
        /* accounting (409): every entry of the current version is in the new list */
        e = 0;
        do
        :: e < E ->
            if :: list[e] != 0 && mine[e] == 0 -> unlock(); goto next :: else -> skip fi;
            e++
        :: else -> break
        od;
        /* accepted: the claims are checked on the write itself */
        atomic {
            e = 0;
            do
            :: e < E -> if :: list[e] != seen[e] && mine[e] != list[e] -> lost = 1 :: else -> skip fi; e++
            :: else -> break
            od;
            if :: paused_by != 0 && paused_by != p -> foreign_write = 1 :: else -> skip fi;
            e = 0; do :: e < E -> list[e] = mine[e]; e++ :: else -> break od;
            version++;
            accepted = 1
        }
        unlock();
next:   skip
    od;

    if
    :: pausing -> lock(); paused_by = 0; version++; unlock()
    :: else -> skip
    fi
}

init {
    list[0] = 1;
    atomic {
        byte p = 1;
        do :: p <= N -> run Prescriber(p); p++ :: else -> break od
    }
}

/* Claim 1: no accepted save loses another prescriber's entry (one it did not see). */
ltl no_lost_entry { [] !lost }
/* Claim 2: a paused list takes no write from anybody but the pausing prescriber. */
ltl paused_takes_no_foreign_write { [] !foreign_write }
