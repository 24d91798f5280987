//! Entry point: `aofd check-aof ...` runs the AOF checker, `aofd restore ...` restores a backup,
//! `aofd migrate|import|migrate-config ...` are the data-directory tools (`migrate::cli`);
//! anything else goes to `app::main` (configuration file and flags). Exits with the code they
//! return. Nothing here knows about RESP, the keyspace or persistence.

fn main() {
    let args: Vec<String> = std::env::args_os()
        .skip(1)
        .map(|a| a.to_string_lossy().into_owned())
        .collect();
    // Matched before the configuration-file argument, like redis-check-aof being the same
    // binary as redis-server under another name.
    if args.first().is_some_and(|a| a == "check-aof") {
        let stdin = std::io::stdin();
        let code = aofd::aof::check::check_aof_main(
            &args[1..],
            &mut stdin.lock(),
            &mut std::io::stdout(),
            &mut std::io::stderr(),
        );
        std::process::exit(code);
    }
    if args.first().is_some_and(|a| a == "restore") {
        let code =
            aofd::restore::restore_main(&args[1..], &mut std::io::stdout(), &mut std::io::stderr());
        std::process::exit(code);
    }
    if let Some(code) =
        aofd::migrate::cli::dispatch(&args, &mut std::io::stdout(), &mut std::io::stderr())
    {
        std::process::exit(code);
    }
    std::process::exit(aofd::app::main(&args));
}
