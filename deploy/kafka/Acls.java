// Creates the platform's Kafka users (SCRAM-SHA-256) and their ACLs, idempotently.
//   java -cp '<kafka lib>/*' deploy/kafka/Acls.java <bootstrap> <acls.txt> [<client.properties>]
// The optional properties (no secrets in them) say how to reach the brokers and so which SCRAM
// credentials to create: deploy/cluster.sh passes SASL_SSL, SCRAM-SHA-512 and its CA. Default:
// SASL_PLAINTEXT with SCRAM-SHA-256 (deploy/infra.sh).
// Connects as the super user "admin" (KAFKA_ADMIN_PASSWORD); each other user's password comes
// from KAFKA_<USER>_PASSWORD. acls.txt lines: <user> <OPERATION> <TOPIC|GROUP|CLUSTER> <name>
// [PREFIXED]. Only the Admin API of kafka-clients is used (no kafka-tools needed).
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Properties;
import java.util.Set;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.ScramCredentialInfo;
import org.apache.kafka.clients.admin.ScramMechanism;
import org.apache.kafka.clients.admin.UserScramCredentialUpsertion;
import org.apache.kafka.clients.admin.UserScramCredentialAlteration;
import org.apache.kafka.common.acl.AccessControlEntry;
import org.apache.kafka.common.acl.AclBinding;
import org.apache.kafka.common.acl.AclOperation;
import org.apache.kafka.common.acl.AclPermissionType;
import org.apache.kafka.common.resource.PatternType;
import org.apache.kafka.common.resource.ResourcePattern;
import org.apache.kafka.common.resource.ResourceType;

public class Acls {
    static String secret(String name) {
        String value = System.getenv(name);
        if (value == null || value.isEmpty()) {
            throw new IllegalStateException(name + " is not set");
        }
        return value;
    }

    public static void main(String[] args) throws Exception {
        Properties props = new Properties();
        props.put("bootstrap.servers", args[0]);
        props.put("security.protocol", "SASL_PLAINTEXT");
        props.put("sasl.mechanism", "SCRAM-SHA-256");
        if (args.length > 2) {
            try (var reader = Files.newBufferedReader(Path.of(args[2]))) {
                props.load(reader);
            }
        }
        ScramMechanism mechanism = ScramMechanism.fromMechanismName(
            props.getProperty("sasl.mechanism"));
        props.put("sasl.jaas.config", "org.apache.kafka.common.security.scram.ScramLoginModule "
            + "required username=\"admin\" password=\"" + secret("KAFKA_ADMIN_PASSWORD") + "\";");
        List<AclBinding> bindings = new ArrayList<>();
        Set<String> users = new LinkedHashSet<>();
        for (String line : Files.readAllLines(Path.of(args[1]))) {
            String trimmed = line.strip();
            if (trimmed.isEmpty() || trimmed.startsWith("#")) {
                continue;
            }
            String[] f = trimmed.split("\\s+");
            users.add(f[0]);
            PatternType pattern = f.length > 4 && f[4].equals("PREFIXED")
                ? PatternType.PREFIXED : PatternType.LITERAL;
            bindings.add(new AclBinding(
                new ResourcePattern(ResourceType.valueOf(f[2]), f[3], pattern),
                new AccessControlEntry("User:" + f[0], "*", AclOperation.valueOf(f[1]),
                    AclPermissionType.ALLOW)));
        }
        try (Admin admin = Admin.create(props)) {
            List<UserScramCredentialAlteration> credentials = new ArrayList<>();
            for (String user : users) {
                credentials.add(new UserScramCredentialUpsertion(user,
                    new ScramCredentialInfo(mechanism, 8192),
                    secret("KAFKA_" + user.toUpperCase() + "_PASSWORD")));
            }
            admin.alterUserScramCredentials(credentials).all().get();
            admin.createAcls(bindings).all().get();
            System.out.println("kafka: " + users.size() + " users, " + bindings.size() + " ACLs");
        }
    }
}
