//! Entry point: reads the configuration and hands off to `app::run`.
//! Nothing here knows about RESP, the keyspace or persistence.

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let config = match aofd::config::Config::from_args(&args) {
        Ok(config) => config,
        Err(e) => {
            eprintln!("{e}");
            std::process::exit(1);
        }
    };
    std::process::exit(aofd::app::run(config));
}
