//! No input makes a reader panic: garbage lines under each known header, and garbage headers.

use proptest::prelude::*;
use spillway_sim::trace::{ReadOptions, TraceFormat, alibaba, csv, detect_format, philly};
use std::path::Path;

const HEADERS: [&str; 3] = [
    "timestamp,duration,num_gpus,gpu_time,cluster",
    "name,cpu_milli,memory_mib,num_gpu,gpu_milli,gpu_spec,qos,pod_phase,creation_time,deletion_time,scheduled_time",
    "job_id,submit_time_s,duration_s,num_gpus,job_type,gpu_type,priority,deadline_s",
];

/// Lines made of the characters that matter to these formats, plus some that do not.
fn garbage_line() -> impl Strategy<Value = String> {
    proptest::string::string_regex(
        "[-0-9a-zA-Z,.:| \"#\t\u{feff}é\r]{0,60}|2017-10-09 07:01:55,[-0-9.e]{0,8},[-0-9]{0,4},1,c|p,1,1,[0-9]{0,3},[0-9]{0,5},T4|X,LS,Running,[0-9]{0,4},[0-9]{0,4},[0-9]{0,4}",
    )
    .unwrap()
}

fn parse_all(text: &str, skip: bool) {
    let path = Path::new("garbage.csv");
    let options = ReadOptions {
        skip_bad_lines: skip,
    };
    let _ = detect_format(path, text);
    let philly = philly::parse(path, text, &options);
    let alibaba = alibaba::parse(path, text, &options);
    let csv = csv::parse(path, text, &options);
    // Skipping never fails once the header is good.
    if skip && text.starts_with(HEADERS[0]) && text[HEADERS[0].len()..].starts_with('\n') {
        assert!(philly.is_ok());
    }
    if skip && text.starts_with(HEADERS[2]) && text[HEADERS[2].len()..].starts_with('\n') {
        assert!(csv.is_ok());
    }
    let _ = alibaba;
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn garbage_lines_under_a_good_header(
        header in 0..HEADERS.len(),
        lines in proptest::collection::vec(garbage_line(), 0..12),
        skip in any::<bool>(),
    ) {
        let text = format!("{}\n{}", HEADERS[header], lines.join("\n"));
        parse_all(&text, skip);
    }

    #[test]
    fn garbage_everywhere(text in "\\PC{0,300}", skip in any::<bool>()) {
        parse_all(&text, skip);
    }
}

#[test]
fn detection_of_each_header() {
    let path = Path::new("t");
    let formats: Vec<_> = HEADERS
        .iter()
        .map(|header| detect_format(path, header).unwrap())
        .collect();
    assert_eq!(
        formats,
        [TraceFormat::Philly, TraceFormat::Alibaba, TraceFormat::Csv]
    );
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    /// Blank lines, comments and either line ending before a bad row never shift the line an
    /// error names.
    #[test]
    fn errors_name_the_right_line(
        fillers in proptest::collection::vec(0..4usize, 0..20),
        crlf in any::<bool>(),
    ) {
        let mut lines = vec!["job_id,submit_time_s,duration_s,num_gpus".to_string()];
        for (i, filler) in fillers.iter().enumerate() {
            lines.push(match filler {
                0 => String::new(),
                1 => "# a comment, with a comma".to_string(),
                2 => "   ".to_string(),
                _ => format!("job{i},{i},60,1"),
            });
        }
        lines.push("bad,0,60,zero".to_string());
        let bad_line = lines.len();
        let text = lines.join(if crlf { "\r\n" } else { "\n" });
        let error = csv::parse(Path::new("t.csv"), &text, &ReadOptions::default()).unwrap_err();
        prop_assert_eq!(
            error.to_string(),
            format!("t.csv:{bad_line}: field `num_gpus`: `zero` is not a non-negative whole number")
        );
    }
}
