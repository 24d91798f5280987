//! Entry point: hands the command line to `app::main` and exits with its code.
//! Nothing here knows about RESP, the keyspace or persistence.

fn main() {
    let args: Vec<String> = std::env::args_os()
        .skip(1)
        .map(|a| a.to_string_lossy().into_owned())
        .collect();
    std::process::exit(aofd::app::main(&args));
}
